/**
 * What the payments service needs from a card processor. A real provider is another
 * network service: every call here may be slow or fail, so the service never holds a
 * database transaction across one, and passes its idempotency key so retries are safe.
 */
export interface AuthorizeRequest {
  idempotencyKey: string;
  amount: number;
  currency: string;
  /** Opaque token from the client-side card form; never stored. */
  paymentToken: string;
}

export type AuthorizeResult =
  | { outcome: 'APPROVED'; reference: string; cardBrand: string; cardLast4: string }
  | { outcome: 'DECLINED'; reason: string; cardBrand: string | null; cardLast4: string | null };

/** The provider failed (network, outage, internal error): the payment is FAILED, not declined. */
export class ProviderError extends Error {
  constructor(readonly reason: string) {
    super(`payment provider error: ${reason}`);
    this.name = 'ProviderError';
  }
}

export interface PaymentProvider {
  readonly name: string;
  /** Rejects a token the provider cannot possibly accept (throws BadUserInputError) before anything is stored. */
  validateToken(paymentToken: string): void;
  /** Throws ProviderError when the provider fails. */
  authorize(request: AuthorizeRequest): Promise<AuthorizeResult>;
  capture(reference: string): Promise<void>;
  void(reference: string): Promise<void>;
  refund(reference: string): Promise<void>;
}
