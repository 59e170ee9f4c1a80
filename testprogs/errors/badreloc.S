/* A word with an R_X86_64_64 relocation that relpatch turns into type 200. */
	.data
	.balign 8
	.globl bad_word
bad_word:
	.quad good
	.section .note.GNU-stack, "", @progbits
