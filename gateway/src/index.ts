import { runMain } from '@shop/kit';
import { startGateway } from './gateway';

export { startGateway, loadGatewayConfig } from './gateway';
export { gatewayConfigShape } from './env';

if (require.main === module) runMain(() => startGateway());
