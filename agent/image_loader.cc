#include "agent/image_loader.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "proto/rpc/limits.h"
#include "proto/rpc/logging.h"
#include "spdlog/spdlog.h"

namespace bdcoord::agent {
namespace {

std::shared_ptr<spdlog::logger> Logger() {
  static const std::shared_ptr<spdlog::logger> logger = rpc::NamedLogger("images");
  return logger;
}

}  // namespace

ImageLoader::ImageLoader(DockerClient* docker, ResultSender send_result, ListSender send_list,
                         size_t max_queued)
    : docker_(docker),
      send_result_(std::move(send_result)),
      send_list_(std::move(send_list)),
      max_queued_(std::max<size_t>(1, max_queued)) {}

ImageLoader::~ImageLoader() {
  AbortAll();
  std::vector<std::shared_ptr<Load>> loads;
  std::vector<ListThread> lists;
  {
    absl::MutexLock lock(&mu_);
    loads.swap(finishing_);
    lists.swap(list_threads_);
  }
  for (auto& load : loads) load->thread.join();
  for (auto& list : lists) list.thread.join();
}

size_t ImageLoader::active() const {
  absl::MutexLock lock(&mu_);
  size_t n = loads_.size();
  for (const auto& load : finishing_) {
    absl::MutexLock load_lock(&load->mu);
    if (!load->done) ++n;
  }
  return n;
}

void ImageLoader::Reap() {
  for (auto it = finishing_.begin(); it != finishing_.end();) {
    bool done = false;
    {
      absl::MutexLock lock(&(*it)->mu);
      done = (*it)->done;
    }
    if (!done) {
      ++it;
      continue;
    }
    (*it)->thread.join();  // it has returned from Run, or is about to
    it = finishing_.erase(it);
  }
  for (auto it = list_threads_.begin(); it != list_threads_.end();) {
    if (!*it->done) {
      ++it;
      continue;
    }
    it->thread.join();
    it = list_threads_.erase(it);
  }
}

void ImageLoader::Run(std::shared_ptr<Load> load) {
  auto source = [&load]() -> absl::StatusOr<std::optional<std::string>> {
    absl::MutexLock lock(&load->mu);
    Load* l = load.get();
    auto ready = [l]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return !l->pieces.empty() || l->ended || l->aborted || !l->error.empty();
    };
    load->mu.Await(absl::Condition(&ready));
    if (load->aborted) return absl::CancelledError("the push was aborted");
    if (!load->error.empty()) return absl::InvalidArgumentError(load->error);
    if (load->pieces.empty()) return std::nullopt;  // ended
    std::string piece = std::move(load->pieces.front());
    load->pieces.pop_front();
    return piece;
  };
  Logger()->info("loading image '{}' (push {}) into Docker", load->image, load->id);
  absl::StatusOr<std::string> loaded = docker_->LoadImage(source);
  bool aborted = false;
  {
    absl::MutexLock lock(&load->mu);
    load->done = true;
    load->pieces.clear();  // what still comes is dropped
    aborted = load->aborted;
  }
  if (aborted) {
    Logger()->warn("push {} of image '{}' aborted", load->id, load->image);
    return;
  }
  bdcoord::v1::CommandResult result;
  result.set_request_id(load->id);
  result.set_ok(loaded.ok());
  result.set_message(loaded.ok() ? *loaded : std::string(loaded.status().message()));
  if (loaded.ok()) {
    Logger()->info("image '{}' loaded: {}", load->image, *loaded);
  } else {
    Logger()->warn("image '{}' not loaded: {}", load->image, result.message());
  }
  send_result_(result);
}

void ImageLoader::HandleChunk(const bdcoord::v1::ImageChunk& chunk) {
  std::shared_ptr<Load> load;
  {
    absl::MutexLock lock(&mu_);
    Reap();
    auto it = loads_.find(chunk.request_id());
    if (it != loads_.end()) {
      load = it->second;
    } else if (!chunk.abort()) {
      load = std::make_shared<Load>();
      load->id = chunk.request_id();
      load->image = chunk.image();
      loads_[load->id] = load;
      load->thread = std::thread([this, load] { Run(load); });
    }
    if (load != nullptr && (chunk.end() || chunk.abort())) {
      loads_.erase(load->id);
      finishing_.push_back(load);
    }
  }
  if (load == nullptr) return;  // an abort of a load already gone
  absl::MutexLock lock(&load->mu);
  if (chunk.abort()) {
    load->aborted = true;
    return;
  }
  if (chunk.data().size() > static_cast<size_t>(rpc::kImageChunkBytes)) {
    load->error = absl::StrCat("a piece of the archive has ", chunk.data().size(),
                               " bytes, more than ", rpc::kImageChunkBytes);
  }
  if (!chunk.data().empty() && load->error.empty()) {
    // Backpressure: the stream's reader waits here while Docker is behind.
    Load* l = load.get();
    const size_t max_queued = max_queued_;
    auto room = [l, max_queued]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return l->pieces.size() < max_queued || l->done || l->aborted;
    };
    load->mu.Await(absl::Condition(&room));
    if (!load->done && !load->aborted) load->pieces.push_back(chunk.data());
  }
  if (chunk.end()) load->ended = true;
}

void ImageLoader::HandleList(const bdcoord::v1::ImageListRequest& request) {
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread thread([this, request, done] {
    bdcoord::v1::ImageList list;
    list.set_request_id(request.request_id());
    absl::StatusOr<std::vector<ImageSummary>> images = docker_->ListImages();
    if (!images.ok()) {
      list.set_error(std::string(images.status().message()));
    } else {
      for (const ImageSummary& image : *images) {
        bdcoord::v1::ImageSummary* summary = list.add_images();
        summary->set_id(image.id);
        for (const std::string& tag : image.repo_tags) summary->add_repo_tags(tag);
        summary->set_size_bytes(image.size_bytes);
      }
    }
    send_list_(list);
    *done = true;
  });
  absl::MutexLock lock(&mu_);
  Reap();
  list_threads_.push_back({std::move(thread), std::move(done)});
}

void ImageLoader::AbortAll() {
  std::vector<std::shared_ptr<Load>> loads;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, load] : loads_) {
      loads.push_back(load);
      finishing_.push_back(load);
    }
    loads_.clear();
  }
  for (auto& load : loads) {
    absl::MutexLock lock(&load->mu);
    load->aborted = true;
  }
}

}  // namespace bdcoord::agent
