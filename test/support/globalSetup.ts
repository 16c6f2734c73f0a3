import { makeTemplate } from './pgliteTemplate';

export default makeTemplate;
