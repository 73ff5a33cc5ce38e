import { CreateAccounts1764190000000 } from './1764190000000-create-accounts';
import { RevocationTraceParent1766000000000 } from './1766000000000-revocation-trace-parent';

export const migrations = [CreateAccounts1764190000000, RevocationTraceParent1766000000000];
