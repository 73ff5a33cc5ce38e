import type { ServiceClient } from '@shop/kit';

/** Typed wrappers over the other services' internal APIs (fixed in the team's API notes). */
export interface CatalogProduct {
  id: string;
  sku: string;
  name: string;
  slug: string;
  price: { amount: number; currency: string };
  archived: boolean;
}

export type ReservationStatus = 'RESERVED' | 'COMMITTED' | 'RELEASED' | 'EXPIRED' | 'NONE';

export interface PaymentRecord {
  id: string;
  orderId: string;
  /** PROCESSING: the provider was being asked when payments last wrote it. */
  status: 'PROCESSING' | 'AUTHORIZED' | 'CAPTURED' | 'DECLINED' | 'FAILED' | 'VOIDED' | 'REFUNDED';
  amount: { amount: number; currency: string };
  failureReason: string | null;
}

export class ProductsClient {
  constructor(private readonly client: ServiceClient) {}
  /** One call for any number of ids; archived products included, unknown ids left out. */
  async lookup(ids: string[]): Promise<Map<string, CatalogProduct>> {
    if (ids.length === 0) return new Map();
    const { products } = await this.client.call<{ products: CatalogProduct[] }>('products/lookup', { ids });
    return new Map(products.map((p) => [p.id, p]));
  }
}

export class InventoryClient {
  constructor(private readonly client: ServiceClient) {}
  async availability(productIds: string[]): Promise<Map<string, number>> {
    const { items } = await this.client.call<{ items: { productId: string; available: number }[] }>(
      'stock/availability',
      { productIds },
    );
    return new Map(items.map((i) => [i.productId, i.available]));
  }
  /** Idempotent per order; with `renew`, an EXPIRED reservation holds its lines again (OUT_OF_STOCK if it cannot). */
  reserve(orderId: string, lines: { productId: string; quantity: number }[], ttlSeconds: number, renew = false) {
    return this.client.call<{ orderId: string; status: ReservationStatus; expiresAt: string }>('reservations/reserve', {
      orderId,
      lines,
      ttlSeconds,
      renew,
    });
  }
  commit(orderId: string) {
    return this.client.call<{ orderId: string; status: 'COMMITTED' }>('reservations/commit', { orderId });
  }
  release(orderId: string) {
    return this.client.call<{ orderId: string; status: 'RELEASED' | 'COMMITTED' | 'NONE' }>('reservations/release', {
      orderId,
    });
  }
  async status(orderId: string): Promise<ReservationStatus> {
    return (await this.client.call<{ status: ReservationStatus }>('reservations/get', { orderId })).status;
  }
  restock(orderId: string, reason: string) {
    return this.client.call<{ orderId: string; restocked: boolean }>('stock/restock', { orderId, reason });
  }
}

export class PaymentsClient {
  constructor(private readonly client: ServiceClient) {}
  authorize(input: {
    idempotencyKey: string;
    orderId: string;
    userId: string;
    amount: number;
    currency: string;
    paymentToken: string;
  }) {
    return this.client.call<PaymentRecord>('payments/authorize', input);
  }
  capture(orderId: string) {
    return this.client.call<PaymentRecord>('payments/capture', { orderId });
  }
  void(orderId: string) {
    return this.client.call<PaymentRecord | null>('payments/void', { orderId });
  }
  refund(orderId: string) {
    return this.client.call<PaymentRecord>('payments/refund', { orderId });
  }
  get(orderId: string) {
    return this.client.call<PaymentRecord | null>('payments/get', { orderId });
  }
}

export interface Clients {
  products: ProductsClient;
  inventory: InventoryClient;
  payments: PaymentsClient;
}
