/*
 * One process and nothing else, for `make bench`: started and waited for
 * the way the bench starts every runtime command, it is what the kernel
 * charges for one command before the command does anything. A lifecycle
 * as an engine drives it runs at least four such commands (create, start,
 * state, delete).
 */
int main(void)
{
    return 0;
}
