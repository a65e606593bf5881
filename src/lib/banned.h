/* banned.h — functions that are too easy to misuse. Include last. */
#ifndef FK_BANNED_H
#define FK_BANNED_H

#define FK_BANNED(f) sorry_##f##_is_banned_use_a_bounded_helper

#undef strcpy
#define strcpy(a, b) FK_BANNED(strcpy)
#undef strcat
#define strcat(a, b) FK_BANNED(strcat)
#undef strncpy
#define strncpy(a, b, n) FK_BANNED(strncpy)
#undef sprintf
#define sprintf(...) FK_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) FK_BANNED(vsprintf)
#undef strtok
#define strtok(a, b) FK_BANNED(strtok)
#undef gmtime
#define gmtime(t) FK_BANNED(gmtime)
#undef localtime
#define localtime(t) FK_BANNED(localtime)
#undef atoi
#define atoi(s) FK_BANNED(atoi)
#undef atol
#define atol(s) FK_BANNED(atol)
#undef gets
#define gets(s) FK_BANNED(gets)

#endif
