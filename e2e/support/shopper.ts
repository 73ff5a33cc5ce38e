import { contractOperation } from '@shop/kit/testing';
import type { Platform } from './platform';

export const storefront = (name: string) => contractOperation(name, 'storefront.graphql');
export const admin = (name: string) => contractOperation(name, 'admin.graphql');
export const ADDRESS = { name: 'Ada Lovelace', line1: '12 Analytical Row', city: 'London', postalCode: 'W1 1AA', country: 'GB' };
/** The admin startPlatform ensures. */
export const PLATFORM_ADMIN = { email: 'admin@e2e.test', password: 'admin-password-e2e' };

export interface ReadyToCheckOut {
  adminToken: string;
  customerToken: string;
  productId: string;
}

/**
 * Through the gateway only: the admin signs in and puts a new product (in a new category) on
 * sale with `stock` units; a new customer registers and puts `quantity` of it in the cart.
 * `run` makes every name unique.
 */
export async function customerReadyToCheckOut(
  platform: Platform,
  run: string,
  options: { customerPassword: string; stock?: number; quantity?: number; price?: number },
): Promise<ReadyToCheckOut> {
  const login = await platform.query<{ login: { accessToken: string } }>(storefront('Login'), { input: PLATFORM_ADMIN });
  const adminToken = login.data!.login.accessToken;
  const customer = await platform.query<{ register: { accessToken: string } }>(storefront('Register'), {
    input: { email: `shopper-${run}@example.com`, password: options.customerPassword },
  });
  const customerToken = customer.data!.register.accessToken;
  const asAdmin = { token: adminToken };
  await platform.query(admin('CreateCategory'), { input: { slug: `lamps-${run}`, name: `Lamps ${run}` } }, asAdmin);
  const product = await platform.query<{ createProduct: { id: string } }>(
    admin('CreateProduct'),
    {
      input: {
        sku: `LAMP-${run}`,
        name: 'Traced Lamp',
        slug: `lamp-${run}`,
        description: 'A lamp that leaves a trace',
        price: { amount: options.price ?? 1999, currency: 'USD' },
        categorySlug: `lamps-${run}`,
      },
    },
    asAdmin,
  );
  const productId = product.data!.createProduct.id;
  await platform.query(admin('SetStock'), { productId, onHand: options.stock ?? 3 }, asAdmin);
  const added = await platform.query(storefront('AddToCart'), { productId, quantity: options.quantity ?? 2 }, { token: customerToken });
  if (added.errors) throw new Error(`AddToCart failed: ${JSON.stringify(added.errors)}`);
  return { adminToken, customerToken, productId };
}
