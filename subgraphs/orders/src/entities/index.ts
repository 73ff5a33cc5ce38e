import { CartItem } from './cart-item.entity';
import { Order } from './order.entity';
import { OrderLine } from './order-line.entity';

export const entities = [CartItem, Order, OrderLine];
export { CartItem, Order, OrderLine };
