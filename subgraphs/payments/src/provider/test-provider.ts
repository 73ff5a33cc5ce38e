import { createHash } from 'node:crypto';
import { BadUserInputError } from '@shop/kit';
import { ProviderError, type AuthorizeRequest, type AuthorizeResult, type PaymentProvider } from './payment-provider';

type TokenBehaviour =
  | { kind: 'approve'; brand: string; last4: string }
  | { kind: 'decline'; reason: string; brand: string; last4: string }
  | { kind: 'error'; reason: string };

/** The contract's test-mode tokens (shared/contract/README.md, "Cart and checkout"). */
export const TEST_TOKENS: Record<string, TokenBehaviour> = {
  tok_visa: { kind: 'approve', brand: 'visa', last4: '4242' },
  tok_mastercard: { kind: 'approve', brand: 'mastercard', last4: '4444' },
  tok_chargeDeclined: { kind: 'decline', reason: 'card_declined', brand: 'visa', last4: '0002' },
  tok_insufficientFunds: { kind: 'decline', reason: 'insufficient_funds', brand: 'visa', last4: '9995' },
  tok_processingError: { kind: 'error', reason: 'processing_error' },
};

/**
 * Test-mode provider: deterministic by token, idempotent by key (the same request always
 * gives the same reference), and holds no state, like a sandbox card processor.
 */
export class TestPaymentProvider implements PaymentProvider {
  readonly name = 'test';

  validateToken(paymentToken: string): void {
    if (!Object.prototype.hasOwnProperty.call(TEST_TOKENS, paymentToken))
      throw new BadUserInputError(
        `Unknown payment token; in test mode use one of ${Object.keys(TEST_TOKENS).join(', ')}`,
      );
  }

  async authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    this.validateToken(request.paymentToken);
    const behaviour = TEST_TOKENS[request.paymentToken];
    if (behaviour.kind === 'error') throw new ProviderError(behaviour.reason);
    if (behaviour.kind === 'decline')
      return { outcome: 'DECLINED', reason: behaviour.reason, cardBrand: behaviour.brand, cardLast4: behaviour.last4 };
    const reference = `test_auth_${createHash('sha256').update(request.idempotencyKey).digest('hex').slice(0, 24)}`;
    return { outcome: 'APPROVED', reference, cardBrand: behaviour.brand, cardLast4: behaviour.last4 };
  }

  async capture(): Promise<void> {}
  async void(): Promise<void> {}
  async refund(): Promise<void> {}
}

export function createProvider(name: 'test'): PaymentProvider {
  switch (name) {
    case 'test':
      return new TestPaymentProvider();
  }
}
