import { Category } from './category.entity';
import { Product } from './product.entity';

export { Category, Product };
export const entities = [Category, Product];
