import { contractOperation } from '@shop/kit/testing';
import { startPlatform, type Platform } from './support/platform';

const storefront = (name: string) => contractOperation(name, 'storefront.graphql');
const admin = (name: string) => contractOperation(name, 'admin.graphql');
const code = (result: { errors?: { extensions?: Record<string, unknown> }[] }) => result.errors?.[0]?.extensions?.code;
const ADDRESS = { name: 'Grace Hopper', line1: '1 Navy Way', city: 'Arlington', postalCode: '22202', country: 'US' };

interface Card {
  id: string;
  sku: string;
  slug: string;
  name: string;
  price: { amount: number; currency: string };
  inStock: boolean;
}

/**
 * The contract's journeys through the gateway, every service its own process: an admin
 * builds the catalog, a customer browses, buys, reads and cancels, an admin refunds.
 */
describe('storefront and back office through the gateway (every service its own process)', () => {
  let platform: Platform;
  let adminToken: string;
  let customerToken: string;
  const run = `${process.pid}${Date.now() % 100000}`;
  const slug = `e2e-tools-${run}`;
  let product: Card;
  let second: Card;

  beforeAll(async () => {
    platform = await startPlatform();
    const login = await platform.query<{ login: { accessToken: string; user: { role: string } } }>(storefront('Login'), {
      input: { email: 'admin@e2e.test', password: 'admin-password-e2e' },
    });
    expect(login.data?.login.user.role).toBe('ADMIN');
    adminToken = login.data!.login.accessToken;
    const customer = await platform.query<{ register: { accessToken: string } }>(storefront('Register'), {
      input: { email: `shopper-${run}@example.com`, password: 'shopper password' },
    });
    customerToken = customer.data!.register.accessToken;
  }, 180_000);
  afterAll(() => platform?.stop());

  it('lets an admin build the catalog and stock, and nobody else', async () => {
    const category = await platform.query<{ createCategory: { slug: string } }>(
      admin('CreateCategory'),
      { input: { slug, name: 'E2E Tools' } },
      { token: adminToken },
    );
    expect(category.data?.createCategory.slug).toBe(slug);
    expect(code(await platform.query(admin('CreateCategory'), { input: { slug: `${slug}-x`, name: 'X' } }, { token: customerToken }))).toBe('FORBIDDEN');
    expect(code(await platform.query(admin('CreateCategory'), { input: { slug: `${slug}-y`, name: 'Y' } }))).toBe('UNAUTHENTICATED');
    expect(code(await platform.query(admin('CreateCategory'), { input: { slug, name: 'Again' } }, { token: adminToken }))).toBe('CONFLICT');

    const create = async (sku: string, name: string, amount: number) => {
      const result = await platform.query<{ createProduct: Card }>(
        admin('CreateProduct'),
        {
          input: {
            sku,
            name,
            slug: `${sku.toLowerCase()}`,
            description: `${name}, made for end-to-end testing`,
            price: { amount, currency: 'USD' },
            categorySlug: slug,
          },
        },
        { token: adminToken },
      );
      expect(result.errors).toBeUndefined();
      return result.data!.createProduct;
    };
    product = await create(`E2E-HAMMER-${run}`, 'Claw Hammer', 2599);
    second = await create(`E2E-WRENCH-${run}`, 'Torque Wrench', 8999);
    expect(code(await platform.query(admin('CreateProduct'), {
      input: { sku: `E2E-BAD-${run}`, name: 'Bad', slug: `e2e-bad-${run}`, description: 'x', price: { amount: -1, currency: 'USD' }, categorySlug: slug },
    }, { token: adminToken }))).toBe('BAD_USER_INPUT');

    const stocked = await platform.query<{ setStock: { inStock: boolean; inventory: { onHand: number; available: number } } }>(
      admin('SetStock'),
      { productId: product.id, onHand: 5 },
      { token: adminToken },
    );
    expect(stocked.data?.setStock).toMatchObject({ inStock: true, inventory: { onHand: 5, available: 5 } });
    await platform.query(admin('SetStock'), { productId: second.id, onHand: 1 }, { token: adminToken });

    const updated = await platform.query<{ updateProduct: { price: { amount: number } } }>(
      admin('UpdateProduct'),
      { id: product.id, input: { price: { amount: 2499, currency: 'USD' } } },
      { token: adminToken },
    );
    expect(updated.data?.updateProduct.price.amount).toBe(2499);
    const inventory = await platform.query<{ product: { inventory: { onHand: number; reserved: number; available: number } } }>(
      admin('InventoryOf'),
      { id: product.id },
      { token: adminToken },
    );
    expect(inventory.data?.product.inventory).toEqual({ onHand: 5, reserved: 0, available: 5 });
    const hidden = await platform.query(admin('InventoryOf'), { id: product.id }, { token: customerToken });
    expect(code(hidden)).toBe('FORBIDDEN');
  });

  it('lets anyone browse the catalog: categories, listing with filters, product pages', async () => {
    const categories = await platform.query<{ categories: { slug: string }[] }>(storefront('Categories'));
    expect(categories.data?.categories.map((c) => c.slug)).toContain(slug);

    const list = await platform.query<{ products: { totalCount: number; edges: { node: Card }[]; pageInfo: { hasNextPage: boolean } } }>(
      storefront('ProductList'),
      { first: 1, filter: { categorySlug: slug }, sort: 'PRICE_ASC' },
    );
    expect(list.errors).toBeUndefined();
    expect(list.data?.products.totalCount).toBe(2);
    expect(list.data?.products.pageInfo.hasNextPage).toBe(true);
    expect(list.data?.products.edges[0].node).toMatchObject({ id: product.id, inStock: true, price: { amount: 2499, currency: 'USD' } });

    const search = await platform.query<{ products: { edges: { node: Card }[] } }>(storefront('ProductList'), {
      filter: { search: 'torque wrenches', categorySlug: slug },
    });
    expect(search.data?.products.edges.map((e) => e.node.id)).toEqual([second.id]);

    const page = await platform.query<{ product: Card & { inventory: { available: number }; description: string } }>(
      storefront('ProductPage'),
      { slug: product.slug },
    );
    expect(page.data?.product).toMatchObject({ id: product.id, inventory: { available: 5 } });
    const byId = await platform.query<{ product: Card }>(storefront('ProductById'), { id: second.id });
    expect(byId.data?.product.slug).toBe(second.slug);
    expect((await platform.query(storefront('ProductById'), { id: '00000000-0000-0000-0000-000000000000' })).data).toEqual({ product: null });
    expect(code(await platform.query(storefront('ProductList'), { first: 101 }))).toBe('BAD_USER_INPUT');
  });

  it('takes a customer from cart to checkout to their orders, and back out with a cancel', async () => {
    const token = customerToken;
    expect(code(await platform.query(storefront('Cart')))).toBe('UNAUTHENTICATED');
    const added = await platform.query<{ addToCart: { itemCount: number } }>(storefront('AddToCart'), { productId: product.id, quantity: 2 }, { token });
    expect(added.data?.addToCart.itemCount).toBe(2);
    await platform.query(storefront('AddToCart'), { productId: second.id, quantity: 1 }, { token });
    expect(code(await platform.query(storefront('AddToCart'), { productId: product.id, quantity: 10 }, { token }))).toBe('OUT_OF_STOCK');
    const set = await platform.query<{ updateCartItem: { itemCount: number; subtotal: { amount: number } } }>(
      storefront('UpdateCartItem'),
      { productId: product.id, quantity: 3 },
      { token },
    );
    expect(set.data?.updateCartItem).toMatchObject({ itemCount: 4, subtotal: { amount: 3 * 2499 + 8999 } });
    const removed = await platform.query<{ removeFromCart: { itemCount: number } }>(storefront('RemoveFromCart'), { productId: second.id }, { token });
    expect(removed.data?.removeFromCart.itemCount).toBe(3);

    const declined = await platform.query<{ checkout: { status: string; payment: { failureReason: string } } }>(
      storefront('Checkout'),
      { input: { idempotencyKey: `declined-${run}`, paymentToken: 'tok_chargeDeclined', shippingAddress: ADDRESS } },
      { token },
    );
    expect(declined.data?.checkout).toMatchObject({ status: 'PAYMENT_FAILED', payment: { failureReason: 'card_declined' } });
    expect((await platform.query<{ cart: { itemCount: number } }>(storefront('Cart'), {}, { token })).data?.cart.itemCount).toBe(3);

    const checkout = await platform.query<{ checkout: { id: string; status: string; total: { amount: number }; payment: { status: string; amount: { amount: number } } } }>(
      storefront('Checkout'),
      { input: { idempotencyKey: `visa-${run}`, paymentToken: 'tok_visa', shippingAddress: ADDRESS } },
      { token },
    );
    expect(checkout.errors).toBeUndefined();
    const order = checkout.data!.checkout;
    expect(order).toMatchObject({ status: 'CONFIRMED', total: { amount: 3 * 2499 }, payment: { status: 'CAPTURED', amount: { amount: 3 * 2499 } } });
    const again = await platform.query<{ checkout: { id: string } }>(
      storefront('Checkout'),
      { input: { idempotencyKey: `visa-${run}`, paymentToken: 'tok_visa', shippingAddress: ADDRESS } },
      { token },
    );
    expect(again.data?.checkout.id).toBe(order.id);
    expect((await platform.query<{ cart: { itemCount: number } }>(storefront('Cart'), {}, { token })).data?.cart.itemCount).toBe(0);

    const mine = await platform.query<{ me: { orders: { totalCount: number; edges: { node: { id: string } }[] } } }>(
      storefront('MyOrders'),
      { first: 10 },
      { token },
    );
    expect(mine.data?.me.orders.edges.map((e) => e.node.id)).toContain(order.id);
    const read = await platform.query<{ order: { items: { sku: string; product: { id: string } }[] } }>(storefront('Order'), { id: order.id }, { token });
    expect(read.data?.order.items).toEqual([expect.objectContaining({ sku: product.sku, product: expect.objectContaining({ id: product.id }) })]);

    // a stranger cannot see or cancel it
    const stranger = (await platform.query<{ register: { accessToken: string } }>(storefront('Register'), {
      input: { email: `stranger-${run}@example.com`, password: 'stranger password' },
    })).data!.register.accessToken;
    expect((await platform.query(storefront('Order'), { id: order.id }, { token: stranger })).data).toEqual({ order: null });
    expect(code(await platform.query(storefront('CancelOrder'), { id: order.id }, { token: stranger }))).toBe('NOT_FOUND');

    const cancelled = await platform.query<{ cancelOrder: { status: string; payment: { status: string } } }>(storefront('CancelOrder'), { id: order.id }, { token });
    expect(cancelled.data?.cancelOrder).toEqual({ id: order.id, status: 'CANCELLED', payment: { status: 'REFUNDED' } });
    expect(code(await platform.query(storefront('CancelOrder'), { id: order.id }, { token }))).toBe('BAD_USER_INPUT');
    const stock = await platform.query<{ product: { inventory: { onHand: number; reserved: number } } }>(admin('InventoryOf'), { id: product.id }, { token: adminToken });
    expect(stock.data?.product.inventory).toMatchObject({ onHand: 5, reserved: 0 });
  });

  it('lets an admin read any order and refund it; archived products still show in past orders', async () => {
    const token = customerToken;
    await platform.query(storefront('AddToCart'), { productId: second.id, quantity: 1 }, { token });
    const bought = await platform.query<{ checkout: { id: string; status: string } }>(
      storefront('Checkout'),
      { input: { idempotencyKey: `refund-${run}`, paymentToken: 'tok_mastercard', shippingAddress: ADDRESS } },
      { token },
    );
    const orderId = bought.data!.checkout.id;
    expect(bought.data?.checkout.status).toBe('CONFIRMED');

    const anyOrder = await platform.query<{ order: { customer: { email: string } } }>(admin('AnyOrder'), { id: orderId }, { token: adminToken });
    expect(anyOrder.data?.order.customer.email).toBe(`shopper-${run}@example.com`);
    expect(code(await platform.query(admin('RefundOrder'), { id: orderId }, { token }))).toBe('FORBIDDEN');
    const refunded = await platform.query<{ refundOrder: { status: string; payment: { status: string } } }>(admin('RefundOrder'), { id: orderId }, { token: adminToken });
    expect(refunded.data?.refundOrder).toEqual({ id: orderId, status: 'REFUNDED', payment: { status: 'REFUNDED' } });

    expect((await platform.query(admin('ArchiveProduct'), { id: second.id }, { token: adminToken })).errors).toBeUndefined();
    expect((await platform.query(storefront('ProductById'), { id: second.id })).data).toEqual({ product: null });
    const past = await platform.query<{ order: { items: { product: { id: string; slug: string } }[] } }>(storefront('Order'), { id: orderId }, { token });
    expect(past.data?.order.items[0].product).toEqual({ id: second.id, slug: second.slug });
    expect(code(await platform.query(admin('ArchiveProduct'), { id: second.id }, { token: adminToken }))).toBe('NOT_FOUND');
  });
});
