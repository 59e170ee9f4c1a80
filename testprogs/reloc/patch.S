/* Words for relocations that relpatch rewrites after linking (see Makefile):
 *   patch_none:      R_X86_64_64 b_data   -> R_X86_64_NONE
 *   patch_pc32_self: R_X86_64_64 patch_target -> R_X86_64_PC32
 * and patch_pc32_ext, a R_X86_64_PC32 the linker emits for `.long b_data - .`.
 * Each is followed by a word that must stay as the linker left it. */
	.data
	.balign 8
	.globl patch_target
	.type patch_target, @object
patch_target:
	.quad 0x1111
	.size patch_target, 8
	.globl patch_none, patch_same, patch_pc32_ext, patch_pc32_self
	.hidden patch_none, patch_pc32_self
patch_none:
	.quad b_data
patch_same:
	.quad b_data
patch_pc32_ext:
	.long b_data - .
	.long 0x5a5a5a5a
patch_pc32_self:
	.quad patch_target
	.quad 0x3333
	.section .note.GNU-stack, "", @progbits
