/*
 * onbon_drv.h — the Onbon BX-5E screen driver (onbon.h) behind the driver contract (driver.h).
 */
#ifndef HQ_ONBON_DRV_H
#define HQ_ONBON_DRV_H

#include "driver.h"
#include "onbon.h"

extern const struct hq_driver hq_driver_onbon;

/* Its configuration as the host hands it over (dev->cfg, dev->win[i].cfg). */
struct onbon_bus_cfg {
    char font[192];
    int32_t ping_s, answer_ms;
};

struct onbon_win_cfg {
    int32_t screen, width, height, colors;
};

#endif
