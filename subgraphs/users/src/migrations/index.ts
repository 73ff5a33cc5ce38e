import { CreateAccounts1764190000000 } from './1764190000000-create-accounts';

export const migrations = [CreateAccounts1764190000000];
