import { Client } from 'pg';

/** What the stack's databases say about one product after a checkout scenario. */
export interface StockCheck {
  productId: string;
  /** on_hand set by the admin before any checkout of the run. */
  initial: number;
  /** Units of the product in CONFIRMED orders (orders database). */
  confirmed: number;
  /** stock_levels.on_hand and .reserved (inventory database). */
  onHand: number;
  reserved: number;
  /** Orders of the product whose saga had not finished when the check gave up waiting (0 when settled). */
  unsettled: number;
  /** ms waited for the product's sagas to finish (commits still in flight, recovery). */
  waitedMs: number;
  /** confirmed + onHand = initial and nothing left reserved or unfinished. */
  ok: boolean;
}

const query = async <T>(url: string, text: string, params: unknown[]): Promise<T[]> => {
  const client = new Client({ connectionString: url, application_name: 'bench-stock-check' });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
};

/**
 * No oversell, read from the stack's own databases (not from the bench's answers): once every
 * order of the product has finished its saga (waits up to `settleMs`: a CONFIRMED order
 * commits its reservation just after it answers), the units in CONFIRMED orders plus what
 * is on hand must be exactly what the admin stocked, with nothing left reserved. Counts every
 * order of the product since it was stocked (all rounds and scenarios so far).
 */
export async function checkStock(
  databases: { orders: string; inventory: string },
  productId: string,
  initial: number,
  settleMs = 30_000,
): Promise<StockCheck> {
  const started = Date.now();
  const openOrders = async () =>
    Number(
      (
        await query<{ n: string }>(
          databases.orders,
          `SELECT count(*) AS n FROM orders o WHERE o.saga_state NOT IN ('completed', 'failed')
             AND EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND l.product_id = $1)`,
          [productId],
        )
      )[0].n,
    );
  let unsettled = await openOrders();
  while (unsettled > 0 && Date.now() - started < settleMs) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    unsettled = await openOrders();
  }
  const [{ units }] = await query<{ units: string | null }>(
    databases.orders,
    `SELECT COALESCE(sum(l.quantity), 0) AS units FROM order_lines l JOIN orders o ON o.id = l.order_id
      WHERE l.product_id = $1 AND o.status = 'CONFIRMED'`,
    [productId],
  );
  const [stock] = await query<{ on_hand: number; reserved: number }>(
    databases.inventory,
    `SELECT on_hand, reserved FROM stock_levels WHERE product_id = $1`,
    [productId],
  );
  const confirmed = Number(units ?? 0);
  const onHand = stock?.on_hand ?? 0;
  const reserved = stock?.reserved ?? 0;
  return {
    productId,
    initial,
    confirmed,
    onHand,
    reserved,
    unsettled,
    waitedMs: Date.now() - started,
    ok: confirmed + onHand === initial && reserved === 0 && unsettled === 0,
  };
}

export function describeStockCheck(check: StockCheck): string {
  return (
    `stock check ${check.ok ? 'OK' : 'FAILED'}: confirmed ${check.confirmed} + on hand ${check.onHand} = ${check.confirmed + check.onHand}` +
    ` (initial ${check.initial}), reserved ${check.reserved}, unfinished orders ${check.unsettled}, waited ${check.waitedMs} ms`
  );
}
