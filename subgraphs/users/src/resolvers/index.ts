import { accountResolvers } from './account.resolver';
import { userResolvers } from './user.resolver';

export const resolvers = { ...accountResolvers, ...userResolvers };
