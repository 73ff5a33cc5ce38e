import { CreateStock1764190100000 } from './1764190100000-CreateStock';

export const migrations = [CreateStock1764190100000];
