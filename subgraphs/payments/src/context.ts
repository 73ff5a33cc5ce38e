import type { ServiceContext } from '@shop/kit';
import type { PaymentLoaders } from './loaders';
import type { PaymentService } from './services/payment.service';

export interface PaymentsContext extends ServiceContext {
  loaders: PaymentLoaders;
  services: { payments: PaymentService };
}
