/* Accessors for patch.S's words in libpatch.so. */
extern unsigned long patch_none[], patch_target;
unsigned long *lib_patch_words(void) { return patch_none; }
unsigned long *lib_patch_target(void) { return &patch_target; }
