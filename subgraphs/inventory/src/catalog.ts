import type { ServiceClient } from '@shop/kit';

/**
 * The products service's internal API, as inventory needs it: whether a product exists. Asked
 * by admin stock writes only (setStock), never on a checkout's path, so it costs the saga nothing.
 */
export class CatalogClient {
  constructor(private readonly client: ServiceClient) {}

  /** True when products knows `productId` and has not archived it (the contract's NOT_FOUND otherwise). */
  async isOnSale(productId: string): Promise<boolean> {
    const id = productId.toLowerCase();
    const { products } = await this.client.call<{ products: { id: string; archived: boolean }[] }>('products/lookup', { ids: [id] });
    return products.some((p) => p.id.toLowerCase() === id && !p.archived);
  }
}
