#ifndef BDCOORD_COORDINATOR_WEB_STATUS_PAGE_ASSETS_H_
#define BDCOORD_COORDINATOR_WEB_STATUS_PAGE_ASSETS_H_

#include <string_view>

// The status page's files (assets/), built into the binary by embed_assets.cmake.
namespace bdcoord::coordinator::assets {

extern const std::string_view kIndexHtml;
extern const std::string_view kStatusJs;
extern const std::string_view kStatusCss;

}  // namespace bdcoord::coordinator::assets

#endif  // BDCOORD_COORDINATOR_WEB_STATUS_PAGE_ASSETS_H_
