// Global test setup: runs once before all test files (shared fixtures are prepared here).
export default function setup(): void {}
