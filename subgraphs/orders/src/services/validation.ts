import { z } from 'zod';
import { BadUserInputError } from '@shop/kit';
import type { Address } from '../entities/order.entity';

/** ISO 3166-1 alpha-2 codes (officially assigned). */
const COUNTRIES = new Set(
  (
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ ' +
    'CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR ' +
    'GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO ' +
    'JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR ' +
    'MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO ' +
    'RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV ' +
    'TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW'
  ).split(' '),
);

export const MAX_LINE_QUANTITY = 99;

const text = (max: number) => z.string().trim().min(1, 'is required').max(max, `must be at most ${max} characters`);

const checkoutSchema = z.object({
  idempotencyKey: z.string().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  paymentToken: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  shippingAddress: z.object({
    name: text(200),
    line1: text(200),
    line2: z
      .string()
      .trim()
      .max(200, 'must be at most 200 characters')
      .nullish()
      .transform((v) => (v ? v : null)),
    city: text(100),
    postalCode: text(20),
    country: z
      .string()
      .trim()
      .transform((v) => v.toUpperCase())
      .refine((v) => COUNTRIES.has(v), 'must be an ISO 3166-1 alpha-2 country code such as US'),
  }),
});

export interface CheckoutInput {
  idempotencyKey: string;
  paymentToken: string;
  shippingAddress: Address;
}

export function parseCheckoutInput(input: unknown): CheckoutInput {
  const result = checkoutSchema.safeParse(input);
  if (!result.success)
    throw new BadUserInputError(
      result.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; '),
    );
  return result.data;
}

export function requireQuantity(quantity: number, { allowZero }: { allowZero: boolean }): void {
  const min = allowZero ? 0 : 1;
  if (!Number.isInteger(quantity) || quantity < min || quantity > MAX_LINE_QUANTITY)
    throw new BadUserInputError(`quantity must be between ${min} and ${MAX_LINE_QUANTITY}`);
}
