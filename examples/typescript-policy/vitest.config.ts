export { default } from '@sterna/vitest-config';
