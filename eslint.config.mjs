// Type-aware lint. workflows/ is held to the determinism rules: no Node built-ins, no AWS SDK,
// no activity implementations (type imports only).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

// Layers read downward: common/ <- activities/, workflows/ <- plugin/ (SluicePlugin) <- workers/, client/.
// workers/ and client/ never import each other; bin/sluice.js hands `sluice worker` the worker's entry points.
const folders = (names) => names.flatMap((d) => [`../${d}`, `../${d}/**`, `../../${d}`, `../../${d}/**`]);
/** The same for require(), require.resolve() and import(), which no-restricted-imports does not see. */
const loading = (names, message) => {
  const path = `/^(\\.\\.\\/)+(${names.join('|')})(\\/|$)/`;
  return [
    `CallExpression[callee.name='require'] > Literal[value=${path}]`,
    `CallExpression[callee.property.name='resolve'] > Literal[value=${path}]`,
    `ImportExpression > Literal[value=${path}]`,
  ].map((selector) => ({ selector, message }));
};
const layer = (files, names, message) => ({
  files,
  rules: {
    '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: folders(names), message }] }],
    'no-restricted-syntax': ['error', ...loading(names, message)],
  },
});

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.sluice/**',
      'coverage/**',
      'bin/**',
      // Its own project, compiled against the installed package (test/e2e/embed.test.ts type-checks it).
      'examples/embed/**',
      'eslint.config.mjs',
      'jest.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Workflow code must be deterministic: no Node built-ins.',
          })),
          patterns: [
            { group: ['@aws-sdk/*', '@smithy/*'], message: 'Workflow code must not call AWS: do it in an activity.' },
            {
              group: ['@temporalio/activity', '@temporalio/worker', '@temporalio/client'],
              message: 'Workflow code imports only @temporalio/workflow.',
            },
            {
              group: ['../activities', '../activities/*', '../activities/**'],
              allowTypeImports: true,
              message: 'Import activity types only (import type).',
            },
            {
              group: ['../client', '../client/*', '../workers', '../workers/*', '../plugin', '../plugin/*'],
              message: 'Workflow code must not import the client, the plugin or the worker.',
            },
          ],
        },
      ],
    },
  },
  // A kind's workflow-safe side (kind.ts, the registration, common/ and workflows/, which the
  // workflow bundle imports) never loads its activity side (handler.ts, kinds/handlers.ts).
  {
    files: ['kinds/*/kind*.ts', 'kinds/index.ts', 'kinds/types.ts', 'common/**/*.ts', 'workflows/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...['ImportDeclaration', 'ExportNamedDeclaration', 'ExportAllDeclaration'].map((node) => ({
          selector: `${node}[importKind!='type'][exportKind!='type'] > Literal[value=/(^|\\/)(handler|handlers)$/]`,
          message: "Workflow-safe code must not import a kind's handler.ts (the AWS SDK): import its kind.ts.",
        })),
      ],
    },
  },
  {
    files: ['kinds/*/kind*.ts', 'kinds/index.ts', 'kinds/types.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({ name, message: 'A descriptor is workflow-safe: no Node built-ins.' })),
            { name: 'zod', message: 'A descriptor is workflow-safe: no zod.' },
          ],
          patterns: [
            { group: ['@aws-sdk/*', '@smithy/*', '@temporalio/*'], message: 'A descriptor is workflow-safe: no SDKs.' },
            { group: ['**/common/constants'], message: 'common/constants re-exports the descriptors: a cycle.' },
            { group: ['**/activities', '**/activities/**'], message: 'A descriptor never imports activity code.' },
          ],
        },
      ],
    },
  },
  layer(
    ['client/**/*.ts'],
    ['workers'],
    'client/ never imports workers/: what both need lives below them (plugin/, common/).',
  ),
  layer(
    ['workers/**/*.ts'],
    ['client'],
    'workers/ never imports client/: what both need lives below them (plugin/, common/).',
  ),
  layer(['plugin/**/*.ts'], ['workers', 'client'], 'plugin/ lies below workers/ and client/: it imports neither.'),
  {
    // The page of `sluice ui`: plain browser JavaScript, no build step, not part of the TypeScript project.
    files: ['ui/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'script',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'history',
          'fetch',
          'performance',
          'requestAnimationFrame',
          'URLSearchParams',
          'FormData',
          'setTimeout',
          'clearTimeout',
        ].map((g) => [g, 'readonly']),
      ),
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
