/* Absolute addresses in .text: with -z notext these become dynamic
 * relocations against read-only code (DT_TEXTREL). */
	.text
	.globl text_addr_b
	.type text_addr_b, @function
text_addr_b:
	movabs $b_data, %rax
	ret
	.size text_addr_b, . - text_addr_b
	.globl text_addr_own
	.type text_addr_own, @function
text_addr_own:
	movabs $text_own, %rax
	ret
	.size text_addr_own, . - text_addr_own
	/* The same address, PC-relative: no relocation. */
	.globl text_lea_own
	.type text_lea_own, @function
text_lea_own:
	lea text_own(%rip), %rax
	ret
	.size text_lea_own, . - text_lea_own
	.data
text_own:
	.quad 77
	.section .note.GNU-stack, "", @progbits
