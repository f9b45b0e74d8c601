/* The guard mode of pidfd-helper (guard.c): `pidfd-helper guard ...`. */
#ifndef PIDFD_GUARD_H
#define PIDFD_GUARD_H

int guard_main(int argc, char **argv);

#endif
