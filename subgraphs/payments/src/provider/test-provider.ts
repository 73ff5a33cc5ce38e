import { createHash } from 'node:crypto';
import { BadUserInputError } from '@shop/kit';
import { ProviderError, type AuthorizeRequest, type AuthorizeResult, type PaymentProvider } from './payment-provider';

type TokenBehaviour = (
  | { kind: 'approve'; brand: string; last4: string }
  | { kind: 'decline'; reason: string; brand: string; last4: string }
  | { kind: 'error'; reason: string }
) & { delayed?: boolean };

/**
 * The contract's test-mode tokens (contract/README.md, "Cart and checkout"), and two more for
 * fault tests that answer only after the provider's delay (TEST_PROVIDER_DELAY_MS). Set the
 * delay above PROVIDER_TIMEOUT_MS and `tok_visa_delayed` approves after the caller timed out.
 */
export const TEST_TOKENS: Record<string, TokenBehaviour> = {
  tok_visa: { kind: 'approve', brand: 'visa', last4: '4242' },
  tok_mastercard: { kind: 'approve', brand: 'mastercard', last4: '4444' },
  tok_chargeDeclined: { kind: 'decline', reason: 'card_declined', brand: 'visa', last4: '0002' },
  tok_insufficientFunds: { kind: 'decline', reason: 'insufficient_funds', brand: 'visa', last4: '9995' },
  tok_processingError: { kind: 'error', reason: 'processing_error' },
  tok_visa_delayed: { kind: 'approve', brand: 'visa', last4: '4242', delayed: true },
  tok_chargeDeclined_delayed: { kind: 'decline', reason: 'card_declined', brand: 'visa', last4: '0002', delayed: true },
};

/** The reference the test provider gives an approved authorization (a function of its idempotency key). */
export const testReference = (idempotencyKey: string) => `test_auth_${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24)}`;

export type HoldState = 'held' | 'captured' | 'voided' | 'refunded';

/**
 * Test-mode provider: deterministic by token and idempotent by key like a sandbox card
 * processor. It remembers, as a real one does, every authorization it made (a repeat of a
 * request still being processed waits for the same answer; a later repeat gets it at once)
 * and what became of each hold, so tests can check that no hold was left behind.
 */
export class TestPaymentProvider implements PaymentProvider {
  readonly name = 'test';
  private readonly answers = new Map<string, Promise<AuthorizeResult>>();
  private readonly holds = new Map<string, HoldState>();

  constructor(private readonly delayMs = 2_000) {}

  validateToken(paymentToken: string): void {
    if (!Object.prototype.hasOwnProperty.call(TEST_TOKENS, paymentToken))
      throw new BadUserInputError(
        `Unknown payment token; in test mode use one of ${Object.keys(TEST_TOKENS).join(', ')}`,
      );
  }

  authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    this.validateToken(request.paymentToken);
    let answer = this.answers.get(request.idempotencyKey);
    if (!answer) {
      answer = this.decide(request);
      this.answers.set(request.idempotencyKey, answer);
      // A provider error is not remembered: the same request may be tried again.
      answer.catch(() => this.answers.delete(request.idempotencyKey));
    }
    return answer;
  }

  private async decide(request: AuthorizeRequest): Promise<AuthorizeResult> {
    const behaviour = TEST_TOKENS[request.paymentToken];
    if (behaviour.delayed) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (behaviour.kind === 'error') throw new ProviderError(behaviour.reason);
    if (behaviour.kind === 'decline')
      return { outcome: 'DECLINED', reason: behaviour.reason, cardBrand: behaviour.brand, cardLast4: behaviour.last4 };
    const reference = testReference(request.idempotencyKey);
    if (!this.holds.has(reference)) this.holds.set(reference, 'held');
    return { outcome: 'APPROVED', reference, cardBrand: behaviour.brand, cardLast4: behaviour.last4 };
  }

  async capture(reference: string): Promise<void> {
    this.settle(reference, 'held', 'captured');
  }
  async void(reference: string): Promise<void> {
    this.settle(reference, 'held', 'voided');
  }
  async refund(reference: string): Promise<void> {
    this.settle(reference, 'captured', 'refunded');
  }

  /** What became of the hold under `reference` (undefined: never authorized here). */
  holdState(reference: string): HoldState | undefined {
    return this.holds.get(reference);
  }

  /** Authorizations still holding money on a card: neither captured nor voided. */
  openHolds(): string[] {
    return [...this.holds].filter(([, state]) => state === 'held').map(([reference]) => reference);
  }

  private settle(reference: string, from: HoldState, to: HoldState) {
    if (this.holds.get(reference) === from) this.holds.set(reference, to);
  }
}

export function createProvider(name: 'test', options: { delayMs?: number } = {}): PaymentProvider {
  switch (name) {
    case 'test':
      return new TestPaymentProvider(options.delayMs);
  }
}
