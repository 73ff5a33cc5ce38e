import { CartItem } from './cart-item.entity';
import { Order } from './order.entity';
import { OrderEvent } from './order-event.entity';
import { OrderLine } from './order-line.entity';

export const entities = [CartItem, Order, OrderLine, OrderEvent];
export { CartItem, Order, OrderLine, OrderEvent };
