/* In the executable: exe_patch_none's R_X86_64_64 becomes R_X86_64_NONE. */
	.data
	.balign 8
	.globl exe_patch_none, exe_patch_same
	.hidden exe_patch_none, exe_patch_same
exe_patch_none:
	.quad b_func
exe_patch_same:
	.quad b_func
	.section .note.GNU-stack, "", @progbits
