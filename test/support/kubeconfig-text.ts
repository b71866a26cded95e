// A kubeconfig with a bearer token (the API server's --token-auth-file) as
// text, for the test clusters: the CA as a file path or as inline PEM.

export type KubeconfigCa = { file: string } | { pem: string | Buffer };

export function tokenKubeconfig(server: string, ca: KubeconfigCa, user: string, token: string): string {
  const caLine = 'file' in ca ? `    certificate-authority: ${ca.file}` : `    certificate-authority-data: ${Buffer.from(ca.pem).toString('base64')}`;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: metalgate-test',
    '  cluster:',
    `    server: ${server}`,
    caLine,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: metalgate-test',
    '  context:',
    '    cluster: metalgate-test',
    `    user: ${user}`,
    'current-context: metalgate-test',
    '',
  ].join('\n');
}
