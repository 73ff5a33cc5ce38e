import type { ServiceContext } from '@shop/kit';
import type { OrderLoaders } from './loaders';
import type { CartService } from './services/cart.service';
import type { CheckoutService } from './services/checkout.service';
import type { OrderService } from './services/order.service';

export interface OrderServices {
  cart: CartService;
  checkout: CheckoutService;
  orders: OrderService;
}

export interface OrdersContext extends ServiceContext {
  loaders: OrderLoaders;
  services: OrderServices;
}
