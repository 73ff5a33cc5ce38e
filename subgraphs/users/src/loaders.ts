import DataLoader from 'dataloader';
import { In, type EntityManager } from 'typeorm';
import { User } from './entities';
import { isUuid } from '@shop/kit';

export interface Loaders {
  /** One query for every User id asked for in one tick of one request; unknown ids give null. */
  userById: DataLoader<string, User | null>;
}

export function createLoaders(em: EntityManager): Loaders {
  return {
    userById: new DataLoader<string, User | null>(async (ids) => {
      const valid = [...new Set(ids.filter(isUuid))];
      const rows = valid.length > 0 ? await em.find(User, { where: { id: In(valid) } }) : [];
      const byId = new Map(rows.map((user) => [user.id, user]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}
