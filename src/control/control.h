/* control.h — the control loop.  So far: control orders (table orders)
 * and risk areas (table risk_areas) as the health code reads them. */
#ifndef FK_CONTROL_H
#define FK_CONTROL_H

#include "healthcode/facts.h"

/* control_code_facts(_all) and control_risk_areas are declared in
 * healthcode/facts.h: FACT_ORDER rows of active and completed orders
 * (proposed and cancelled ones impose nothing), and every risk area. */

#endif
