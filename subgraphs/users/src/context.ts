import type { ServiceContext } from '@shop/kit';
import type { Loaders } from './loaders';
import type { AccountService } from './services/account.service';
import type { SessionService } from './services/session.service';

export interface UsersServices {
  accounts: AccountService;
  sessions: SessionService;
}

/** The request context of the users subgraph: the kit's base plus loaders and services. */
export interface UsersContext extends ServiceContext {
  loaders: Loaders;
  services: UsersServices;
}
