// Every workflow the worker registers.
export { promotion } from './promotion';
export { blastRadius } from './blast-radius';
export { compensation } from './compensation';
