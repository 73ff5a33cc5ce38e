import { RefreshToken } from './refresh-token.entity';
import { Session } from './session.entity';
import { User } from './user.entity';

export { RefreshToken, Session, User };
export const entities = [User, Session, RefreshToken];
