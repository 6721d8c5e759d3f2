/* A booted VM's guest agent, reporting a while after the domain starts. */
#ifndef SIM_GUEST_AGENT_H
#define SIM_GUEST_AGENT_H

#include "db.h"

/* Locked. vm just started (domid set): its agent reports later unless its
 * other_config sim_guest_agent is "never" (see guest_agent.c). */
void guest_agent_on_boot(struct obj *vm);

#endif
