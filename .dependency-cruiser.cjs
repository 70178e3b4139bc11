/**
 * pvemu's layers, as rules `npm run lint` checks (docs/architecture.md explains them).
 * Lowest first; each layer imports only from layers below it:
 *
 *   lib, uapi        errors, host clock, fixed limits; the guest ABI's constants
 *   stats            counters, histograms, the trace recorder (below everything that counts)
 *   hw               the emulated hardware, the cost model, the wait primitive
 *   pv, riscv        the paravirt interface; the RV32 CPU
 *   kernel, hv,      the guest kernel; the hypervisor backends; guest programs in TypeScript
 *   workloads        (siblings: none imports another)
 *   vcpu             one vCPU's worker: wires hardware, backend, kernel and workload together
 *   machine          the main thread: the machine, its clock, watchdog, overcommit scheduler
 *   report           the report builder, its formatters, the trace writer
 *   cli, index.ts    the command line and the library's entry point
 *   bench, workers   benchmarks and worker entry files
 *
 * Type-only imports count (tsPreCompilationDeps): a layer that names another's types depends on it.
 */
const SRC = '^src/';
/** A path pattern for the given top-level parts of src/ (folders or files). */
const within = (...parts) => `^src/(${parts.join('|')})(/|$)`;

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Files must not import each other in a loop: a loop has no lowest file to read or change first.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'lib-is-the-ground',
      severity: 'error',
      comment: 'src/lib (errors, host clock, limits) imports nothing else of pvemu.',
      from: { path: within('lib') },
      to: { path: SRC, pathNot: within('lib') },
    },
    {
      name: 'uapi-is-a-leaf',
      severity: 'error',
      comment: 'src/uapi holds the guest ABI (PROT_*, MAP_*, errno, syscall numbers, clone and futex flags): constants, importing nothing.',
      from: { path: within('uapi') },
      to: { path: SRC, pathNot: within('uapi') },
    },
    {
      name: 'counters-below-everything-that-counts',
      severity: 'error',
      comment: 'src/stats (counters, histograms, the trace recorder) is used by everything that counts, so it imports only src/lib.',
      from: { path: within('stats') },
      to: { path: SRC, pathNot: within('stats', 'lib') },
    },
    {
      name: 'hw-knows-no-software',
      severity: 'error',
      comment: 'The emulated hardware (and the cost model and wait primitive in it) imports nothing from the interface, the kernel, the backends, the vCPU or the machine.',
      from: { path: within('hw') },
      to: { path: within('pv', 'riscv', 'kernel', 'hv', 'workloads', 'vcpu', 'machine', 'report', 'cli', 'index\\.ts') },
    },
    {
      name: 'pv-is-only-an-interface',
      severity: 'error',
      comment: 'The paravirt interface names no implementation: it imports nothing from the backends, the kernel, the vCPU or the machine.',
      from: { path: within('pv') },
      to: { path: within('riscv', 'kernel', 'hv', 'workloads', 'vcpu', 'machine', 'report', 'cli', 'index\\.ts') },
    },
    {
      name: 'riscv-is-a-cpu',
      severity: 'error',
      comment: 'The RV32 CPU runs whatever the kernel maps; it knows hardware, not the kernel or the backends.',
      from: { path: within('riscv') },
      to: { path: within('pv', 'kernel', 'hv', 'workloads', 'vcpu', 'machine', 'report', 'cli', 'index\\.ts') },
    },
    {
      name: 'kernel-knows-hypervisor-only-through-pv',
      severity: 'error',
      comment: 'The guest kernel is written against the pv ops alone: no import of a backend, type imports included.',
      from: { path: within('kernel') },
      to: { path: within('hv', 'workloads', 'vcpu', 'machine', 'report', 'cli', 'index\\.ts') },
    },
    {
      name: 'backend-sees-kernel-only-through-pv',
      severity: 'error',
      comment: 'A backend reaches guest kernel data only through what the pv interface passes it (GuestServices, the ops\' arguments).',
      from: { path: within('hv') },
      to: { path: within('kernel', 'workloads', 'vcpu', 'machine', 'report', 'cli', 'index\\.ts') },
    },
    {
      name: 'hypervisor-side-never-calls-the-guest-side',
      severity: 'error',
      comment: 'Each backend keeps its guest side (the pv ops the guest calls: hv/<backend>/guest) apart from its hypervisor side (shared state, validation, remote-flush service: hv/<backend>/hypervisor), as Linux keeps arch/x86/xen apart from drivers/xen. The guest calls into the hypervisor (hypercalls), never the reverse.',
      from: { path: '^src/hv/([^/]+)/hypervisor/' },
      to: { path: '^src/hv/[^/]+/guest/' },
    },
    {
      name: 'workloads-use-uapi-not-kernel',
      severity: 'error',
      comment: 'Guest programs talk to the kernel through system calls: ABI constants come from src/uapi, never from kernel internals.',
      from: { path: within('workloads') },
      to: { path: within('pv', 'kernel', 'hv', 'vcpu', 'machine', 'report', 'cli', 'index\\.ts') },
    },
    {
      name: 'vcpu-below-machine',
      severity: 'error',
      comment: 'A vCPU worker knows nothing of the main thread\'s machine, the report or the CLI.',
      from: { path: within('vcpu') },
      to: { path: within('machine', 'report', 'cli', 'index\\.ts') },
    },
    {
      name: 'machine-below-report',
      severity: 'error',
      comment: 'The machine runs and counts; the report builder, formatters and trace writer sit above it.',
      from: { path: within('machine') },
      to: { path: within('report', 'cli', 'index\\.ts') },
    },
    {
      name: 'report-below-cli',
      severity: 'error',
      comment: 'The report layer serves the CLI and the library; it does not import them.',
      from: { path: within('report') },
      to: { path: within('cli', 'index\\.ts') },
    },
    {
      name: 'src-stands-alone',
      severity: 'error',
      comment: 'The library and CLI do not import the benchmarks or the worker entry files.',
      from: { path: SRC },
      to: { path: '^(bench|workers)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
