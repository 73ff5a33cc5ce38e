import { Payment } from './payment.entity';
import { PaymentEvent } from './payment-event.entity';

export const entities = [Payment, PaymentEvent];
export { Payment, PaymentEvent };
