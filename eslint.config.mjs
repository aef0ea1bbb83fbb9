import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules', 'dist', 'data', 'coverage'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      // Node 20 can deadlock exporting a key fresh from generateKeyPairSync while the garbage collector
      // finalizes the job that made it: keys are made already encoded (test/helpers/sshKeygen.ts keyPair).
      'no-restricted-imports': [
        'error',
        {
          paths: ['crypto', 'node:crypto'].map((name) => ({
            name,
            importNames: ['generateKeyPairSync', 'generateKeyPair'],
            message:
              'Make keys with keyPair() (test/helpers/sshKeygen.ts), or generate them already encoded.',
          })),
        },
      ],
    },
  },
  { files: ['**/*.js', '**/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
