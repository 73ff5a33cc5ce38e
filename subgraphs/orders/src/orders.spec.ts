import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { recordStatements, statementKind, type Identity } from '@shop/kit';
import { metricValue } from '@shop/kit/testing';
import { ADDRESS, admin, ANON, CART, catalogProduct, customer, errorCode, ORDER, startPlatform, type Platform } from './testing/platform';

let p: Platform;

beforeAll(async () => {
  p = await startPlatform({ seedProducts: 8 });
  for (let n = 1; n <= 8; n++) await p.setStock(catalogProduct(n).id, 50);
});
afterAll(async () => {
  await p?.close();
});

interface Money {
  amount: number;
  currency: string;
}
interface CartResult {
  itemCount: number;
  subtotal: Money;
  items: { quantity: number; unitPrice: Money; lineTotal: Money; product: { id: string } }[];
}
interface OrderResult {
  id: string;
  number: string;
  status: string;
  createdAt: string;
  total: Money;
  items: { sku: string; name: string; quantity: number; unitPrice: Money; lineTotal: Money; product: { id: string } }[];
  customer: { id: string };
}

const usd = (amount: number) => ({ amount, currency: 'USD' });

async function cart(who: Identity) {
  const result = await p.gql<{ cart: CartResult }>(`{ cart { ${CART} } }`, {}, who);
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data!.cart;
}
const addToCart = (who: Identity, productId: string, quantity: number) =>
  p.gql<{ addToCart: CartResult }>(
    `mutation ($productId: ID!, $quantity: Int!) { addToCart(productId: $productId, quantity: $quantity) { ${CART} } }`,
    { productId, quantity },
    who,
  );
const updateCartItem = (who: Identity, productId: string, quantity: number) =>
  p.gql<{ updateCartItem: CartResult }>(
    `mutation ($productId: ID!, $quantity: Int!) { updateCartItem(productId: $productId, quantity: $quantity) { ${CART} } }`,
    { productId, quantity },
    who,
  );
const removeFromCart = (who: Identity, productId: string) =>
  p.gql<{ removeFromCart: CartResult }>(
    `mutation ($productId: ID!) { removeFromCart(productId: $productId) { ${CART} } }`,
    { productId },
    who,
  );
const checkout = (who: Identity, input: Record<string, unknown>) =>
  p.gql<{ checkout: OrderResult }>(`mutation ($input: CheckoutInput!) { checkout(input: $input) { ${ORDER} } }`, { input }, who);
const checkoutInput = (overrides: Record<string, unknown> = {}) => ({
  idempotencyKey: randomUUID(),
  paymentToken: 'tok_visa',
  shippingAddress: ADDRESS,
  ...overrides,
});
const order = (who: Identity, id: string) => p.gql<{ order: OrderResult | null }>(`query ($id: ID!) { order(id: $id) { ${ORDER} } }`, { id }, who);
const cancelOrder = (who: Identity, id: string) =>
  p.gql<{ cancelOrder: { id: string; status: string } }>(`mutation ($id: ID!) { cancelOrder(id: $id) { id status } }`, { id }, who);
const refundOrder = (who: Identity, id: string) =>
  p.gql<{ refundOrder: { id: string; status: string } }>(`mutation ($id: ID!) { refundOrder(id: $id) { id status } }`, { id }, who);

async function must<T>(promise: Promise<{ data?: T | null; errors?: unknown[] }>): Promise<T> {
  const result = await promise;
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data!;
}

async function available(productId: string): Promise<number> {
  const { items } = await p.internal('inventory').call<{ items: { productId: string; available: number }[] }>('stock/availability', {
    productIds: [productId],
  });
  return items[0]?.available ?? 0;
}
const reservation = async (orderId: string) =>
  (await p.internal('inventory').call<{ status: string }>('reservations/get', { orderId })).status;
const payment = (orderId: string) =>
  p.internal('payments').call<{ status: string; amount: Money; failureReason: string | null } | null>('payments/get', { orderId });

/** A buyer with `quantity` of product n in the cart. */
async function buyerWith(n: number, quantity: number) {
  const who = customer();
  await must(addToCart(who, catalogProduct(n).id, quantity));
  return who;
}

describe('cart', () => {
  it('is UNAUTHENTICATED for anonymous callers', async () => {
    expect(errorCode(await p.gql(`{ cart { itemCount } }`, {}, ANON))).toBe('UNAUTHENTICATED');
    expect(errorCode(await addToCart(ANON, catalogProduct(1).id, 1))).toBe('UNAUTHENTICATED');
    expect(errorCode(await updateCartItem(ANON, catalogProduct(1).id, 1))).toBe('UNAUTHENTICATED');
    expect(errorCode(await removeFromCart(ANON, catalogProduct(1).id))).toBe('UNAUTHENTICATED');
  });

  it('starts empty', async () => {
    expect(await cart(customer())).toEqual({ itemCount: 0, subtotal: usd(0), items: [] });
  });

  it('adds to, sets and removes lines, priced from the catalog', async () => {
    const who = customer();
    const [a, b] = [catalogProduct(1), catalogProduct(2)];
    await must(addToCart(who, a.id, 2));
    const added = (await must(addToCart(who, a.id, 1))).addToCart;
    expect(added.items).toEqual([{ quantity: 3, unitPrice: usd(a.priceAmount), lineTotal: usd(3 * a.priceAmount), product: { id: a.id } }]);
    const two = (await must(addToCart(who, b.id, 1))).addToCart;
    expect(two.itemCount).toBe(4);
    expect(two.subtotal).toEqual(usd(3 * a.priceAmount + b.priceAmount));
    const set = (await must(updateCartItem(who, a.id, 5))).updateCartItem;
    expect(set.items.find((i) => i.product.id === a.id)?.quantity).toBe(5);
    const zero = (await must(updateCartItem(who, a.id, 0))).updateCartItem;
    expect(zero.items.map((i) => i.product.id)).toEqual([b.id]);
    const removed = (await must(removeFromCart(who, b.id))).removeFromCart;
    expect(removed).toEqual({ itemCount: 0, subtotal: usd(0), items: [] });
    // Durable and per user: another user's cart is untouched by this one.
    await must(addToCart(who, a.id, 1));
    expect((await cart(who)).itemCount).toBe(1);
    expect((await cart(customer())).itemCount).toBe(0);
  });

  it('refuses bad quantities, unknown products and more than is available', async () => {
    const who = customer();
    const a = catalogProduct(1);
    expect(errorCode(await addToCart(who, a.id, 0))).toBe('BAD_USER_INPUT');
    expect(errorCode(await addToCart(who, a.id, -2))).toBe('BAD_USER_INPUT');
    expect(errorCode(await addToCart(who, a.id, 100))).toBe('BAD_USER_INPUT');
    expect(errorCode(await updateCartItem(who, a.id, -1))).toBe('BAD_USER_INPUT');
    expect(errorCode(await addToCart(who, randomUUID(), 1))).toBe('NOT_FOUND');
    expect(errorCode(await addToCart(who, 'not-an-id', 1))).toBe('NOT_FOUND');
    expect(errorCode(await updateCartItem(who, randomUUID(), 1))).toBe('NOT_FOUND');
    expect(errorCode(await removeFromCart(who, randomUUID()))).toBe('NOT_FOUND');
    const short = await addToCart(who, a.id, 51);
    expect(errorCode(short)).toBe('OUT_OF_STOCK');
    expect(short.errors![0].extensions!.productIds).toEqual([a.id]);
    await must(addToCart(who, a.id, 30));
    expect(errorCode(await addToCart(who, a.id, 21))).toBe('OUT_OF_STOCK');
    expect(errorCode(await updateCartItem(who, a.id, 51))).toBe('OUT_OF_STOCK');
    expect((await cart(who)).itemCount).toBe(30);
  });

  it('follows catalog price changes and drops archived products when read', async () => {
    const who = customer();
    const [c, d] = [catalogProduct(3), catalogProduct(4)];
    await must(addToCart(who, c.id, 2));
    await must(addToCart(who, d.id, 1));
    await must(
      p.productsGql(`mutation ($id: ID!) { updateProduct(id: $id, input: { price: { amount: 1234, currency: "USD" } }) { id } }`, { id: c.id }, admin()),
    );
    const repriced = await cart(who);
    expect(repriced.items.find((i) => i.product.id === c.id)).toMatchObject({ unitPrice: usd(1234), lineTotal: usd(2468) });
    await must(p.productsGql(`mutation ($id: ID!) { archiveProduct(id: $id) { id } }`, { id: d.id }, admin()));
    const after = await cart(who);
    expect(after.items.map((i) => i.product.id)).toEqual([c.id]);
    expect(after.subtotal).toEqual(usd(2468));
    expect(errorCode(await addToCart(who, d.id, 1))).toBe('NOT_FOUND');
  });
});

describe('checkout', () => {
  it('is UNAUTHENTICATED anonymously and BAD_USER_INPUT on an empty cart or a bad input', async () => {
    expect(errorCode(await checkout(ANON, checkoutInput()))).toBe('UNAUTHENTICATED');
    expect(errorCode(await checkout(customer(), checkoutInput()))).toBe('BAD_USER_INPUT');
    const who = await buyerWith(5, 1);
    for (const bad of [
      { idempotencyKey: '' },
      { idempotencyKey: 'k'.repeat(101) },
      { paymentToken: '' },
      { shippingAddress: { ...ADDRESS, country: 'USA' } },
      { shippingAddress: { ...ADDRESS, country: 'XX' } },
      { shippingAddress: { ...ADDRESS, name: '  ' } },
      { shippingAddress: { ...ADDRESS, city: '' } },
      { shippingAddress: { ...ADDRESS, postalCode: 'x'.repeat(21) } },
    ])
      expect(errorCode(await checkout(who, checkoutInput(bad)))).toBe('BAD_USER_INPUT');
    expect((await cart(who)).itemCount).toBe(1);
  });

  it('confirms an approved order: snapshot, total, captured payment, committed stock, empty cart', async () => {
    const [a, b] = [catalogProduct(5), catalogProduct(6)];
    const who = await buyerWith(5, 2);
    await must(addToCart(who, b.id, 1));
    const [availableA, availableB] = [await available(a.id), await available(b.id)];
    const input = checkoutInput({ paymentToken: 'tok_mastercard', shippingAddress: { ...ADDRESS, country: 'gb', line2: 'Flat 3' } });
    const placed = (await must(checkout(who, input))).checkout;
    const total = 2 * a.priceAmount + b.priceAmount;
    expect(placed).toMatchObject({
      status: 'CONFIRMED',
      number: expect.stringMatching(/^SO-\d{6}$/),
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
      total: usd(total),
      customer: { id: who.userId },
      items: [
        { sku: a.sku, name: a.name, quantity: 2, unitPrice: usd(a.priceAmount), lineTotal: usd(2 * a.priceAmount), product: { id: a.id } },
        { sku: b.sku, name: b.name, quantity: 1, unitPrice: usd(b.priceAmount), lineTotal: usd(b.priceAmount), product: { id: b.id } },
      ],
    });
    const { data } = await order(who, placed.id);
    expect(data!.order).toEqual(placed);
    expect((await p.gql<{ order: { shippingAddress: unknown } }>(`query ($id: ID!) { order(id: $id) { shippingAddress { name line1 line2 city postalCode country } } }`, { id: placed.id }, who)).data!.order.shippingAddress).toEqual({ ...ADDRESS, line2: 'Flat 3', country: 'GB' });
    expect(await payment(placed.id)).toMatchObject({ status: 'CAPTURED', amount: usd(total) });
    expect(await reservation(placed.id)).toBe('COMMITTED');
    expect(await available(a.id)).toBe(availableA - 2);
    expect(await available(b.id)).toBe(availableB - 1);
    expect((await cart(who)).items).toEqual([]);
    // Same key again: the same order, nothing charged twice.
    expect((await must(checkout(who, input))).checkout.id).toBe(placed.id);
    expect(await available(a.id)).toBe(availableA - 2);
    // The snapshot stays when the catalog changes.
    await must(p.productsGql(`mutation ($id: ID!) { updateProduct(id: $id, input: { name: "Renamed", price: { amount: 1, currency: "USD" } }) { id } }`, { id: b.id }, admin()));
    expect((await order(who, placed.id)).data!.order!.items[1]).toMatchObject({ name: b.name, unitPrice: usd(b.priceAmount) });
  });

  it('keys are per customer', async () => {
    const key = randomUUID();
    const one = (await must(checkout(await buyerWith(7, 1), checkoutInput({ idempotencyKey: key })))).checkout;
    const two = (await must(checkout(await buyerWith(7, 1), checkoutInput({ idempotencyKey: key })))).checkout;
    expect(one.id).not.toBe(two.id);
    expect([one.status, two.status]).toEqual(['CONFIRMED', 'CONFIRMED']);
  });

  it.each([
    ['tok_chargeDeclined', 'card_declined'],
    ['tok_insufficientFunds', 'insufficient_funds'],
    ['tok_processingError', 'processing_error'],
  ])('%s: PAYMENT_FAILED (%s), stock released, cart kept', async (paymentToken, reason) => {
    const a = catalogProduct(8);
    const who = await buyerWith(8, 3);
    const before = await available(a.id);
    const failed = (await must(checkout(who, checkoutInput({ paymentToken })))).checkout;
    expect(failed.status).toBe('PAYMENT_FAILED');
    expect(await payment(failed.id)).toMatchObject({ failureReason: reason });
    const viaGraph = await p.paymentsGql<{ _entities: { payment: { failureReason: string; status: string } }[] }>(
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Order { payment { status failureReason } } } }`,
      { r: [{ __typename: 'Order', id: failed.id }] },
      who,
    );
    expect(viaGraph.data!._entities[0].payment.failureReason).toBe(reason);
    expect(await reservation(failed.id)).toBe('RELEASED');
    expect(await available(a.id)).toBe(before);
    expect((await cart(who)).itemCount).toBe(3);
    // Another card with a new key goes through.
    expect((await must(checkout(who, checkoutInput()))).checkout.status).toBe('CONFIRMED');
  });

  it('an unknown payment token is BAD_USER_INPUT and holds nothing', async () => {
    const a = catalogProduct(8);
    const who = await buyerWith(8, 1);
    const before = await available(a.id);
    expect(errorCode(await checkout(who, checkoutInput({ paymentToken: 'tok_bogus' })))).toBe('BAD_USER_INPUT');
    expect(await available(a.id)).toBe(before);
    expect((await cart(who)).itemCount).toBe(1);
  });

  it('round trips: adding to the cart asks products once; each transition is one statement with its event row, no explicit transaction', async () => {
    const a = catalogProduct(7);
    const who = customer();
    const productCalls: string[] = [];
    // express has already routed the request when this listener runs: originalUrl is the path as sent.
    const onRequest = (req: IncomingMessage & { originalUrl?: string }) => productCalls.push(req.originalUrl ?? req.url ?? '');
    p.products.server.on('request', onRequest);
    try {
      await must(addToCart(who, a.id, 1));
    } finally {
      p.products.server.off('request', onRequest);
    }
    expect(productCalls).toEqual(['/internal/products/lookup']);

    const recorded = recordStatements(p.orders.dataSource);
    let placed: OrderResult;
    try {
      placed = (await must(checkout(who, checkoutInput()))).checkout;
    } finally {
      recorded.stop();
    }
    expect(placed.status).toBe('CONFIRMED');
    const { rows: events } = await p.ordersDb.query<{ event: string }>(`SELECT event FROM order_events WHERE order_id = $1 ORDER BY id`, [placed.id]);
    expect(events.map((e) => e.event)).toEqual(['created', 'reserved', 'authorized', 'confirmed', 'committed', 'captured', 'cart_emptied']);
    // Every event row is written by the very statement that makes its transition (atomic on its own).
    const eventWrites = recorded.statements.filter((text) => /INSERT INTO order_events/i.test(text));
    expect(eventWrites).toHaveLength(events.length);
    for (const text of eventWrites) expect(text).toMatch(/UPDATE orders|INSERT INTO orders/i);
    expect(recorded.statements.map(statementKind).filter((kind) => ['begin', 'start', 'commit'].includes(kind))).toEqual([]);
  });

  it('OUT_OF_STOCK when a line is short: nothing held, cart kept, the key repeats the answer', async () => {
    const [a, b] = [catalogProduct(2), catalogProduct(1)];
    const who = await buyerWith(2, 4);
    await must(addToCart(who, b.id, 1));
    await p.setStock(a.id, 3);
    const availableB = await available(b.id);
    const input = checkoutInput();
    const result = await checkout(who, input);
    expect(errorCode(result)).toBe('OUT_OF_STOCK');
    expect(result.errors![0].extensions!.productIds).toEqual([a.id]);
    expect(await available(a.id)).toBe(3);
    expect(await available(b.id)).toBe(availableB);
    expect((await cart(who)).itemCount).toBe(5);
    const again = await checkout(who, input);
    expect(errorCode(again)).toBe('OUT_OF_STOCK');
    const listed = await p.gql<{ _entities: { orders: { totalCount: number } }[] }>(
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { orders { totalCount } } } }`,
      { r: [{ __typename: 'User', id: who.userId }] },
      who,
    );
    expect(listed.data!._entities[0].orders.totalCount).toBe(0);
    await p.setStock(a.id, 50);
  });
});

describe('reading orders', () => {
  let owner: Identity;
  const placed: OrderResult[] = [];
  beforeAll(async () => {
    owner = customer();
    for (let i = 0; i < 3; i++) {
      await must(addToCart(owner, catalogProduct(1).id, 1));
      placed.push((await must(checkout(owner, checkoutInput()))).checkout);
    }
  });

  it('order(id): the owner and admins see it; anyone else, unknown and malformed ids get null', async () => {
    expect((await order(owner, placed[0].id)).data!.order!.id).toBe(placed[0].id);
    expect((await order(admin(), placed[0].id)).data!.order!.id).toBe(placed[0].id);
    for (const [who, id] of [
      [customer(), placed[0].id],
      [owner, randomUUID()],
      [owner, 'nope'],
    ] as const) {
      const result = await order(who, id);
      expect(result.errors).toBeUndefined();
      expect(result.data!.order).toBeNull();
    }
    expect(errorCode(await order(ANON, placed[0].id))).toBe('UNAUTHENTICATED');
  });

  const ordersOf = (who: Identity, userId: string, args: { first?: number; after?: string } = {}) =>
    p.gql<{ _entities: { orders: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { cursor: string; node: { id: string } }[] } | null }[] }>(
      `query ($r: [_Any!]!, $first: Int, $after: String) { _entities(representations: $r) { ... on User { orders(first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id } } } } } }`,
      { r: [{ __typename: 'User', id: userId }], ...args },
      who,
    );

  it('User.orders pages newest first by cursor, for the user themself and admins only', async () => {
    const newestFirst = [...placed].reverse().map((o) => o.id);
    const page1 = (await ordersOf(owner, owner.userId!, { first: 2 })).data!._entities[0].orders!;
    expect(page1.totalCount).toBe(3);
    expect(page1.edges.map((e) => e.node.id)).toEqual(newestFirst.slice(0, 2));
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await ordersOf(owner, owner.userId!, { first: 2, after: page1.pageInfo.endCursor! })).data!._entities[0].orders!;
    expect(page2.edges.map((e) => e.node.id)).toEqual(newestFirst.slice(2));
    expect(page2.pageInfo).toEqual({ hasNextPage: false, endCursor: page2.edges[0].cursor });
    expect((await ordersOf(admin(), owner.userId!)).data!._entities[0].orders!.totalCount).toBe(3);
    expect((await ordersOf(customer(), owner.userId!)).data!._entities[0].orders).toBeNull();
    expect(errorCode(await ordersOf(owner, owner.userId!, { first: 101 }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await ordersOf(owner, owner.userId!, { first: -1 }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await ordersOf(owner, owner.userId!, { after: 'garbage' }))).toBe('BAD_USER_INPUT');
  });

  it('resolves Order references only for those who may see them', async () => {
    const query = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id status } } }`;
    const r = [{ __typename: 'Order', id: placed[0].id }];
    expect((await p.gql<{ _entities: unknown[] }>(query, { r }, owner)).data!._entities).toEqual([{ id: placed[0].id, status: 'CONFIRMED' }]);
    expect((await p.gql<{ _entities: unknown[] }>(query, { r }, customer())).data!._entities).toEqual([null]);
  });
});

describe('cancel and refund', () => {
  async function confirmedOrder(n: number, quantity: number) {
    const who = await buyerWith(n, quantity);
    const placed = (await must(checkout(who, checkoutInput()))).checkout;
    expect(placed.status).toBe('CONFIRMED');
    return { who, placed };
  }

  it('cancelOrder refunds, restocks and cancels the own confirmed order, once', async () => {
    const a = catalogProduct(3);
    const before = await available(a.id);
    const { who, placed } = await confirmedOrder(3, 2);
    expect(await available(a.id)).toBe(before - 2);
    expect(errorCode(await cancelOrder(customer(), placed.id))).toBe('NOT_FOUND');
    expect(errorCode(await cancelOrder(who, randomUUID()))).toBe('NOT_FOUND');
    expect(errorCode(await cancelOrder(ANON, placed.id))).toBe('UNAUTHENTICATED');
    expect((await must(cancelOrder(who, placed.id))).cancelOrder).toEqual({ id: placed.id, status: 'CANCELLED' });
    expect(await payment(placed.id)).toMatchObject({ status: 'REFUNDED' });
    expect(await available(a.id)).toBe(before);
    expect(errorCode(await cancelOrder(who, placed.id))).toBe('BAD_USER_INPUT');
    expect(errorCode(await refundOrder(admin(), placed.id))).toBe('BAD_USER_INPUT');
    expect(await available(a.id)).toBe(before);
  });

  it('a PAYMENT_FAILED order cannot be cancelled', async () => {
    const who = await buyerWith(5, 1);
    const failed = (await must(checkout(who, checkoutInput({ paymentToken: 'tok_chargeDeclined' })))).checkout;
    expect(errorCode(await cancelOrder(who, failed.id))).toBe('BAD_USER_INPUT');
  });

  it('refundOrder is for admins: REFUNDED, payment refunded, stock back', async () => {
    const a = catalogProduct(6);
    const before = await available(a.id);
    const { who, placed } = await confirmedOrder(6, 1);
    expect(errorCode(await refundOrder(who, placed.id))).toBe('FORBIDDEN');
    expect(errorCode(await refundOrder(ANON, placed.id))).toBe('UNAUTHENTICATED');
    expect(errorCode(await refundOrder(admin(), randomUUID()))).toBe('NOT_FOUND');
    expect((await must(refundOrder(admin(), placed.id))).refundOrder).toEqual({ id: placed.id, status: 'REFUNDED' });
    expect(await payment(placed.id)).toMatchObject({ status: 'REFUNDED' });
    expect(await available(a.id)).toBe(before);
    expect(errorCode(await cancelOrder(who, placed.id))).toBe('BAD_USER_INPUT');
  });
});

describe('races', () => {
  it('20 concurrent checkouts with one key give one order and one payment', async () => {
    const a = catalogProduct(7);
    const before = await available(a.id);
    const who = await buyerWith(7, 2);
    const input = checkoutInput();
    const results = await Promise.all(Array.from({ length: 20 }, () => checkout(who, input)));
    expect(results.map(errorCode).filter(Boolean)).toEqual([]);
    expect(new Set(results.map((r) => r.data!.checkout.id)).size).toBe(1);
    const id = results[0].data!.checkout.id;
    const { rows } = await p.ordersDb.query('SELECT count(*)::int AS n FROM orders WHERE user_id = $1', [who.userId]);
    expect(rows[0].n).toBe(1);
    expect((await order(who, id)).data!.order!.status).toBe('CONFIRMED');
    expect(await payment(id)).toMatchObject({ status: 'CAPTURED' });
    expect(await available(a.id)).toBe(before - 2);
  });

  it('40 buyers racing for 10 units: exactly 10 confirmed, none left, nothing reserved', async () => {
    const a = catalogProduct(2);
    await p.setStock(a.id, 40);
    const buyers = await Promise.all(Array.from({ length: 40 }, () => buyerWith(2, 1)));
    await p.setStock(a.id, 10);
    const results = await Promise.all(buyers.map((who) => checkout(who, checkoutInput())));
    const confirmed = results.filter((r) => r.data?.checkout?.status === 'CONFIRMED');
    expect(confirmed).toHaveLength(10);
    expect(results.filter((r) => errorCode(r) === 'OUT_OF_STOCK')).toHaveLength(30);
    expect(await available(a.id)).toBe(0);
    const inventory = await p.inventoryGql<{ _entities: { inventory: { onHand: number; reserved: number } }[] }>(
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Product { inventory { onHand reserved } } } }`,
      { r: [{ __typename: 'Product', id: a.id }] },
      admin(),
    );
    expect(inventory.data!._entities[0].inventory).toEqual({ onHand: 0, reserved: 0 });
    const { rows } = await p.ordersDb.query(
      `SELECT o.id, o.status FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE l.product_id = $1 AND o.user_id = ANY($2)`,
      [a.id, buyers.map((b) => b.userId)],
    );
    for (const row of rows) {
      const status = await reservation(row.id);
      expect([row.status, status]).toEqual(row.status === 'CONFIRMED' ? ['CONFIRMED', 'COMMITTED'] : ['CANCELLED', expect.not.stringMatching(/RESERVED|COMMITTED/)]);
    }
  });
});

describe('operations', () => {
  it('reports business metrics', async () => {
    const text = await (await fetch(`${p.orders.url}/metrics`)).text();
    expect(text).toMatch(/orders_final_status_total\{status="CONFIRMED",service="orders"\} [1-9]/);
    expect(text).toMatch(/orders_final_status_total\{status="PAYMENT_FAILED",service="orders"\} [1-9]/);
    expect(text).toMatch(/order_refunds_total\{kind="cancel",service="orders"\} [1-9]/);
    expect(text).toMatch(/checkout_duration_seconds_count\{[^}]*outcome="confirmed"[^}]*\} [1-9]/);
  });

  it('counts the funnel: a cart created, a checkout declined, then one completed that converts the cart', async () => {
    const series = {
      cartsCreated: ['carts_created_total', {}],
      cartsConverted: ['carts_converted_total', {}],
      started: ['checkouts_started_total', {}],
      completed: ['checkouts_completed_total', {}],
      declined: ['checkouts_failed_total', { reason: 'card_declined' }],
    } as const;
    const read = async () =>
      Object.fromEntries(
        await Promise.all(Object.entries(series).map(async ([key, [name, labels]]) => [key, await metricValue(p.orders.url, name, labels)])),
      ) as Record<keyof typeof series, number>;
    const before = await read();
    const who = await buyerWith(7, 1);
    await must(addToCart(who, catalogProduct(8).id, 1)); // a second line: still the same cart
    expect((await must(checkout(who, checkoutInput({ paymentToken: 'tok_chargeDeclined' })))).checkout.status).toBe('PAYMENT_FAILED');
    const key = randomUUID();
    expect((await must(checkout(who, checkoutInput({ idempotencyKey: key })))).checkout.status).toBe('CONFIRMED');
    await must(checkout(who, checkoutInput({ idempotencyKey: key }))); // a replay starts nothing
    const after = await read();
    expect({
      cartsCreated: after.cartsCreated - before.cartsCreated,
      cartsConverted: after.cartsConverted - before.cartsConverted,
      started: after.started - before.started,
      completed: after.completed - before.completed,
      declined: after.declined - before.declined,
    }).toEqual({ cartsCreated: 1, cartsConverted: 1, started: 2, completed: 1, declined: 1 });
  });

  it('a recovery pass finds nothing to do when every checkout finished', async () => {
    const { rows } = await p.ordersDb.query(`SELECT count(*)::int AS n FROM orders WHERE saga_state NOT IN ('completed', 'failed')`);
    expect(rows[0].n).toBe(0);
    expect(await p.orders.recoverNow()).toBe(0);
  });
});
