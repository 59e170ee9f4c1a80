/* R_X86_64_SIZE64 and R_X86_64_SIZE32 against libb.so's data; the
 * linker leaves the words 0 and the loader must fill in st_size + addend. */
	.data
	.balign 8
	.globl size_words
	.type size_words, @object
size_words:
	.quad b_array@SIZE
	.quad b_array@SIZE + 100
	.quad b_data@SIZE
	.long b_array@SIZE
	.long 0x5a5a5a5a
	.size size_words, . - size_words
	.section .note.GNU-stack, "", @progbits
