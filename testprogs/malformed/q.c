/* One link of a long chain of libraries (tests/limits.rs copies it). */
int q(void) { return 0; }
