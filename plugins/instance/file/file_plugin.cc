#include "plugins/instance/file/file_plugin.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <functional>
#include <map>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "glog/logging.h"
#include "plugins/instance/file/instance_file_format.h"
#include "spi/item_status.h"

namespace infrakit::plugins::instance::file {
namespace {

// New instance files: the original InfraKit's files are -rw-r--r--, whatever the umask.
common::TempFileWriter::Options WriterOptions(const FilePlugin::Options& options) {
  common::TempFileWriter::Options writer;
  writer.unnamed = options.unnamed_temp_files;
  writer.mode = 0644;
  writer.name_prefix = ".tmp-";
  writer.file_ops = options.file_ops;
  return writer;
}

// An ID names a file directly in the directory and must not look like a temporary file.
absl::Status CheckId(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("id: empty");
  if (id[0] == '.' || id.find('/') != std::string::npos || id.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("id: \"", id, "\" cannot name an instance file (no '/', no leading '.')"));
  }
  return absl::OkStatus();
}

absl::Status CheckTagNames(const TagMap& tags, absl::string_view field) {
  for (const auto& [key, value] : tags) {
    if (key.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": empty tag name"));
  }
  return absl::OkStatus();
}

// What Provision refuses before touching the disk.
absl::Status CheckSpec(const v1::Spec& spec) {
  if (absl::Status s = CheckTagNames(spec.tags(), "spec.tags"); !s.ok()) return s;
  for (int i = 0; i < spec.attachments_size(); ++i) {
    if (spec.attachments(i).id().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("spec.attachments[", i, "].id: empty"));
    }
  }
  return absl::OkStatus();
}

// Item `i` of a batch failed with `status`.
void SetError(v1::BatchProvisionResponse* response, int i, const absl::Status& status) {
  *response->mutable_results(i)->mutable_error() = spi::ToItemStatus(status);
}

// Item `i` of a batch is instance `id`, created by it or not.
void SetAnswer(v1::BatchProvisionResponse* response, int i, std::string id, bool created) {
  v1::ProvisionResponse* one = response->mutable_results(i)->mutable_response();
  one->set_id(std::move(id));
  one->set_created(created);
}

// Runs fn(0) .. fn(n - 1) on the calling thread plus up to three threads started here (one
// per 32 items at most, none for a few), and returns once all have run.
void RunConcurrently(size_t n, const std::function<void(size_t)>& fn) {
  constexpr size_t kItemsPerThread = 32;
  constexpr size_t kMaxThreads = 4;
  const size_t threads = std::clamp<size_t>(n / kItemsPerThread, 1, kMaxThreads);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t k = next.fetch_add(1); k < n; k = next.fetch_add(1)) fn(k);
  };
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < threads; ++t) {
    try {
      helpers.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // no thread to be had: the calling thread does the rest
    }
  }
  work();
  for (std::thread& helper : helpers) helper.join();
}

}  // namespace

FilePlugin::FilePlugin(std::string dir, const Options& options)
    : dir_(dir),
      ops_(*options.file_ops),
      writer_(std::move(dir), WriterOptions(options)),
      spare_capacity_(options.spare_files) {}

absl::StatusOr<std::unique_ptr<FilePlugin>> FilePlugin::Create(const std::string& dir) {
  return Create(dir, Options());
}

absl::StatusOr<std::unique_ptr<FilePlugin>> FilePlugin::Create(const std::string& dir,
                                                               const Options& options) {
  if (dir.empty()) return absl::InvalidArgumentError("dir: empty");
  std::string clean = dir;
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  std::unique_ptr<FilePlugin> plugin(new FilePlugin(clean, options));
  if (absl::Status status = plugin->Start(); !status.ok()) return status;
  return plugin;
}

absl::Status FilePlugin::Start() {
  std::error_code error;
  std::filesystem::create_directories(dir_, error);
  if (error) {
    return absl::ErrnoToStatus(error.value(), absl::StrCat("creating directory ", dir_));
  }
  if (spare_capacity_ > 0) {
    absl::StatusOr<std::unique_ptr<SpareFiles>> spares =
        SpareFiles::Open(dir_, spare_capacity_, &ops_);
    if (spares.ok()) {
      spares_ = *std::move(spares);
    } else {
      // Only an optimisation: every file is then new.
      LOG(WARNING) << "instance-file: no spare files: " << spares.status();
    }
  }
  // Watch before the scan: a change during the scan is then seen twice, never missed.
  absl::StatusOr<std::unique_ptr<DirWatcher>> watcher = DirWatcher::Create(dir_);
  if (!watcher.ok()) return watcher.status();
  watcher_ = *std::move(watcher);
  {
    absl::MutexLock io(&io_mu_);
    if (absl::Status scanned = RescanLocked(/*at_start=*/true); !scanned.ok()) return scanned;
  }
  watcher_->Start(this);
  LOG(INFO) << "instance-file: serving " << index_.size() << " instances in " << dir_;
  return absl::OkStatus();
}

FilePlugin::~FilePlugin() {
  watcher_.reset();  // No more changes from the directory.
  fanout_.Shutdown(absl::CancelledError("instance-file plugin stopping"));
}

void FilePlugin::OnNamesChanged(const std::vector<DirWatcher::NameEvents>& names) {
  for (const DirWatcher::NameEvents& events : names) {
    absl::MutexLock io(&io_mu_);
    if (echoes_.IsEcho(events)) continue;
    // A name that only appeared on a file that stats as the one indexed is our echo too (a
    // rescan forgot what we linked); a replaced or rewritten file stats differently and is read.
    if (events.only_created && index_.Unchanged(events.name, PathOf(events.name))) continue;
    ReloadLocked(events.name, events.only_created);
  }
}

void FilePlugin::OnRescanNeeded() {
  absl::MutexLock io(&io_mu_);
  RescanLocked(/*at_start=*/false).IgnoreError();  // never fails after the start
}

absl::Status FilePlugin::RefuseAtStart(const std::string& path, const absl::Status& why) const {
  const std::string what_to_do =
      absl::IsFailedPrecondition(why)
          ? absl::StrCat("run the newer infrakit-instance-file that wrote it, or move it out of ",
                         dir_)
          : absl::StrCat("repair it, or move it out of ", dir_, " (instance files only there)");
  return absl::Status(why.code(),
                      absl::StrCat("instance-file: ", path,
                                   " is not an instance file this plugin can "
                                   "read (",
                                   why.message(), "): ", what_to_do, ", then start again"));
}

absl::Status FilePlugin::RescanLocked(bool at_start) {
  // Everything is read again; what the index is made from is no longer known file by file.
  index_.ForgetStamps();
  echoes_.Clear();
  std::map<std::string, v1::Description> found;
  std::error_code error;
  std::filesystem::directory_iterator it(dir_, error);
  if (error && error != std::errc::no_such_file_or_directory) {
    // Keep what we know rather than report every instance gone because of a read error.
    LOG(ERROR) << "instance-file: cannot list " << dir_ << ": " << error.message();
    return absl::OkStatus();
  }
  if (!error) {
    for (; it != std::filesystem::directory_iterator(); it.increment(error)) {
      if (error) break;
      const std::string name = it->path().filename().string();
      if (name.empty() || name[0] == '.') continue;
      std::error_code type_error;
      if (it->is_directory(type_error)) continue;
      absl::StatusOr<std::string> contents = common::ReadFile(it->path().string());
      if (!contents.ok()) {
        if (!absl::IsNotFound(contents.status())) {
          // Not gone, just unreadable now (EMFILE, EIO...): keep what we know rather than
          // report an instance that still exists as removed.
          LOG(WARNING) << contents.status() << "; keeping what was known of " << name;
          if (std::optional<v1::Description> known = index_.Find(name)) {
            found.emplace(name, *std::move(known));
          }
        }
        continue;
      }
      absl::StatusOr<v1::Description> decoded = DecodeInstanceFile(name, *contents);
      // At start, a file that does not decode (torn, emptied, edited, of a newer format) is
      // refused rather than skipped: skipped, its instance would look gone and be replaced.
      if (!decoded.ok() && at_start) return RefuseAtStart(it->path().string(), decoded.status());
      if (!decoded.ok()) {
        LOG(WARNING) << "instance-file: skipping " << it->path().string() << ": "
                     << decoded.status().message();
        continue;
      }
      found.emplace(name, Complete(*std::move(decoded)));
    }
    if (error) {
      LOG(ERROR) << "instance-file: listing " << dir_ << ": " << error.message();
      return absl::OkStatus();
    }
  }
  for (const std::string& id : index_.Ids()) {
    if (found.find(id) == found.end()) ApplyLocked(id, std::nullopt);
  }
  for (auto& [id, description] : found) ApplyLocked(id, std::move(description));
  return absl::OkStatus();
}

void FilePlugin::ReloadLocked(const std::string& id, bool writer_may_be_busy) {
  const std::string path = PathOf(id);
  // Taken before reading: a change after it makes the stamp differ, never match too long.
  const std::optional<FileStamp> stamp = FileStamp::Of(path);
  index_.ForgetStamp(id);
  absl::StatusOr<std::string> contents = common::ReadFile(path);
  if (!contents.ok()) {
    if (!absl::IsNotFound(contents.status())) {
      // Not gone, just unreadable now (EMFILE, EIO...): an instance that still exists is not
      // reported removed; the next change or rescan reads it again.
      LOG(WARNING) << "instance-file: cannot read " << path << " (" << contents.status()
                   << "); keeping what was known of it";
      return;
    }
    ApplyLocked(id, std::nullopt);
    return;
  }
  absl::StatusOr<v1::Description> decoded = DecodeInstanceFile(id, *contents);
  if (!decoded.ok()) {
    if (writer_may_be_busy) {
      // Only seen created so far: its writer may still be writing (a file opened with O_TRUNC
      // reads empty until written). Its close is still to come and decides; until then the
      // index stands, so that a file being rewritten never looks removed and re-added.
      VLOG(1) << "instance-file: " << path << " not decodable yet: " << decoded.status();
      return;
    }
    LOG(WARNING) << "instance-file: skipping " << path << ": " << decoded.status().message();
    ApplyLocked(id, std::nullopt);
    return;
  }
  ApplyLocked(id, Complete(*std::move(decoded)));
  if (stamp.has_value()) index_.SetStamp(id, *stamp);
}

void FilePlugin::ApplyLocked(const std::string& id, std::optional<v1::Description> now) {
  const bool present = now.has_value();
  std::optional<InstanceIndex::Change> change = index_.Apply(id, std::move(now));
  if (!change.has_value()) return;
  VLOG(1) << "instance-file: " << id
          << (!change->before ? " added"
              : !present      ? " removed"
                              : " changed");
  // Still under io_mu_ (events keep their order; no other write can move change->after).
  fanout_.Publish(change->before ? &*change->before : nullptr, change->after);
}

std::string FilePlugin::PathOf(const std::string& id) const { return absl::StrCat(dir_, "/", id); }

v1::Description FilePlugin::Complete(v1::Description decoded) const {
  decoded.set_state(v1::LIFECYCLE_STATE_RUNNING);
  (*decoded.mutable_properties()->mutable_fields())["Path"].set_string_value(PathOf(decoded.id()));
  return decoded;
}

int64_t FilePlugin::NextIdNumber() {
  absl::MutexLock lock(&id_mu_);
  last_id_number_ = std::max(absl::ToUnixNanos(absl::Now()), last_id_number_ + 1);
  return last_id_number_;
}

absl::Status FilePlugin::Validate(const v1::ValidateRequest& request) { return absl::OkStatus(); }

absl::StatusOr<v1::ProvisionResponse> FilePlugin::Provision(const v1::ProvisionRequest& request) {
  const v1::Spec& spec = request.spec();
  if (absl::Status s = CheckSpec(spec); !s.ok()) return s;

  // A repeat of a provision already done: the instance it created. Checked again under io_mu_
  // below, since another call with the same key may be finishing meanwhile.
  if (std::optional<std::string> existing = index_.InstanceWithKey(spec.idempotency_key())) {
    return Existing(*std::move(existing), spec.idempotency_key());
  }

  v1::Description instance;
  instance.set_logical_id(spec.logical_id());
  *instance.mutable_tags() = spec.tags();
  *instance.mutable_spec() = spec;
  // Another process serving the same directory may take a name first: link fails with EEXIST
  // instead of overwriting, and the next number is tried.
  constexpr int kAttempts = 100;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    instance.set_id(absl::StrCat("instance-", NextIdNumber()));
    absl::StatusOr<std::string> contents = EncodeInstanceFile(instance);
    if (!contents.ok()) return contents.status();
    // Writing and syncing the temporary file is the slow part (an fsync is a journal commit):
    // it runs outside io_mu_, so that concurrent provisions overlap their syncs instead of
    // queueing behind each other. Only publishing the file (link) and indexing it are
    // serialised, which keeps the index and the events in the order of the changes on disk.
    absl::StatusOr<common::TempFile> temp = WriteTemp(*contents, /*sync=*/true);
    if (!temp.ok()) return temp.status();
    absl::MutexLock io(&io_mu_);
    if (std::optional<std::string> existing = index_.InstanceWithKey(spec.idempotency_key())) {
      temp->Discard();
      return Existing(*std::move(existing), spec.idempotency_key());
    }
    absl::Status published = PublishLocked(*temp, instance, *contents);
    if (absl::IsAlreadyExists(published)) continue;
    if (!published.ok()) return published;
    LOG(INFO) << "instance-file: provisioned " << instance.id();
    v1::ProvisionResponse response;
    response.set_id(instance.id());
    response.set_created(true);
    return response;
  }
  return absl::AbortedError(
      absl::StrCat("no free instance ID in ", dir_, " after ", kAttempts, " attempts"));
}

absl::StatusOr<common::TempFile> FilePlugin::WriteTemp(const std::string& contents, bool sync) {
  if (spares_ != nullptr) {
    if (std::optional<std::string> claim = spares_->Claim()) {
      absl::StatusOr<common::TempFile> temp = writer_.WriteOver(*claim, contents, sync);
      if (temp.ok()) return temp;
      LOG(WARNING) << "instance-file: " << temp.status() << "; writing a new file instead";
      ops_.Unlink(claim->c_str());
    }
  }
  return writer_.Write(contents, sync);
}

int FilePlugin::RemoveFile(const std::string& path, std::string* retired) {
  if (spares_ != nullptr) return spares_->Retire(path, retired);
  return ops_.Unlink(path.c_str()) == 0 ? 0 : errno;
}

absl::Status FilePlugin::PublishLocked(common::TempFile& temp, const v1::Description& instance,
                                       const std::string& contents) {
  const std::string path = PathOf(instance.id());
  const int error = temp.Link(path);
  // After the link (and for a named file the unlink of its temporary name, in Discard), which
  // both change the inode's ctime. An unnamed file's descriptor is stat'ed without a lookup.
  std::optional<FileStamp> stamp;
  if (error == 0 && temp.unnamed()) {
    struct stat st;
    if (temp.Stat(&st) == 0) stamp = FileStamp::From(st);
  }
  const bool named = !temp.unnamed();
  temp.Discard();
  if (error == EEXIST) return absl::AlreadyExistsError(absl::StrCat(path, " exists"));
  if (error != 0) return absl::ErrnoToStatus(error, absl::StrCat("creating ", path));
  if (named) stamp = FileStamp::Of(path);
  // Index what a reader of the file will decode, so that the inotify echo (and a rescan) is no
  // change: known without parsing the file back, except for unusual properties.
  std::optional<v1::Description> stored = StoredForm(instance);
  if (!stored.has_value()) {
    absl::StatusOr<v1::Description> decoded = DecodeInstanceFile(instance.id(), contents);
    if (!decoded.ok()) return decoded.status();
    stored = *std::move(decoded);
  }
  ApplyLocked(instance.id(), Complete(*std::move(stored)));
  // Its IN_CREATE will tell what we already know (only once it is indexed: a file we could not
  // index is read when its event comes).
  echoes_.Linked(instance.id());
  if (stamp.has_value()) index_.SetStamp(instance.id(), *stamp);
  return absl::OkStatus();
}

// Where a batch's time goes, and why it is arranged so.
//
// Provision pays one fsync per instance, and on ext4 an fsync is a journal commit plus a disk
// cache flush: that is nearly all of its cost. The batch keeps Provision's crash-safety (a file
// is visible under an instance's name only once its contents are durable, so a crash never
// leaves a partial instance; the idempotency key is inside the file, so it is durable with it)
// with two syncs for the whole batch:
//   1. every temporary file is written without a sync;
//   2. ONE syncfs() on the directory's filesystem makes all their contents durable at once;
//   3. under one hold of io_mu_, each is linked to its instance name (never overwriting) and
//      indexed, in request order;
//   4. ONE fsync of the directory makes all the new names (and so the idempotency keys) durable
//      before the answer, which Provision does not even promise.
// Why not one fdatasync per file, even all written first: with ext4's delayed allocation a
// file's blocks are allocated when its data is written back, i.e. inside its own fdatasync, in
// the journal transaction running then; each fdatasync then waits for the commit of a
// transaction holding its own allocation, so N files still cost N commits, in sequence.
// Starting the writeback of every file first (sync_file_range) and fsyncing only the last one
// would happen to commit everything on ext4 (transactions commit in order), but is not
// durability anywhere by contract (btrfs and XFS log per inode). syncfs is: it writes back
// every dirty inode of the filesystem and commits once, whatever the filesystem. Its price is
// that it also flushes other processes' dirty data on the same filesystem. syncfs reports
// writeback errors since Linux 5.8 (for errors after the directory was opened, hence the open
// before writing).
// A batch creating a single instance is a Provision, exactly: one fsync and no directory
// fsync. Two syncs would make it cost twice a Provision (measured 4 -> 7 ms on /tmp, ext4),
// and the group sends the heal of one instance, the most latency-sensitive creation, alone.
absl::StatusOr<v1::BatchProvisionResponse> FilePlugin::BatchProvision(
    const v1::BatchProvisionRequest& request) {
  if (absl::Status s = spi::CheckBatchSize(request.requests_size(), "requests"); !s.ok()) {
    return s;
  }
  v1::BatchProvisionResponse response;
  for (int i = 0; i < request.requests_size(); ++i) response.add_results();

  // 1. Plan.
  BatchPlan plan = PlanBatch(request, &response);
  std::vector<int> again;  // items provisioned one by one at the end, in request order
  if (plan.writes.size() == 1) {
    again.push_back(plan.writes.front().index);
    plan.writes.clear();
  }

  // 2. Write, then make durable. The directory is opened first so that syncfs reports the
  // writeback errors of our writes (it reports those after the descriptor was opened).
  const int dir_fd =
      plan.writes.empty() ? -1 : ops_.Open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (!plan.writes.empty() && dir_fd < 0) {
    const absl::Status error = absl::ErrnoToStatus(errno, absl::StrCat("opening ", dir_));
    for (const PendingWrite& write : plan.writes) SetError(&response, write.index, error);
    plan.writes.clear();
  }
  const int written = WriteDurably(dir_fd, plan.writes, &response);

  // 3. Publish and index, in request order.
  const int published = written > 0 ? PublishBatch(plan.writes, &response, &again) : 0;

  // 4. The new names on disk before the answer. Should it fail, the instances still exist and
  // are indexed and announced (all that Provision promises); only surviving a machine crash
  // is in doubt, so it is logged rather than reported as a failure of items that exist.
  if (published > 0 && ops_.Fsync(dir_fd) != 0) {
    PLOG(ERROR) << "instance-file: fsync of " << dir_ << " after provisioning " << published
                << " instances; they may not survive a crash";
  }
  if (published > 0) {
    LOG(INFO) << "instance-file: provisioned " << published << " of " << request.requests_size()
              << " instances in one batch";
  }
  if (dir_fd >= 0) ops_.Close(dir_fd);

  // A repeated key gets the first item's instance, as a sequential retry would; when the first
  // item did not create it (it failed, or waits in `again`), the repeat is provisioned anew,
  // as a sequential retry would be too.
  for (const auto& [index, first] : plan.repeats) {
    const v1::ProvisionResult& earlier = response.results(first);
    if (earlier.has_response()) {
      SetAnswer(&response, index, earlier.response().id(), false);
    } else {
      again.push_back(index);
    }
  }
  std::sort(again.begin(), again.end());
  for (int index : again) {
    spi::SetItemResult(Provision(request.requests(index)), response.mutable_results(index));
  }
  return response;
}

FilePlugin::BatchPlan FilePlugin::PlanBatch(const v1::BatchProvisionRequest& request,
                                            v1::BatchProvisionResponse* response) {
  // What Provision would refuse fails its item; a key already on an instance answers that
  // instance; a key repeated in the batch waits for the first item carrying it.
  BatchPlan plan;
  absl::flat_hash_map<std::string, int> first_with_key;
  for (int i = 0; i < request.requests_size(); ++i) {
    const v1::Spec& spec = request.requests(i).spec();
    if (absl::Status s = CheckSpec(spec); !s.ok()) {
      SetError(response, i, s);
      continue;
    }
    const std::string& key = spec.idempotency_key();
    if (std::optional<std::string> existing = index_.InstanceWithKey(key)) {
      VLOG(1) << "instance-file: idempotency key " << key << " is " << *existing;
      SetAnswer(response, i, *std::move(existing), false);
      continue;
    }
    if (!key.empty()) {
      auto [it, inserted] = first_with_key.try_emplace(key, i);
      if (!inserted) {
        plan.repeats.emplace_back(i, it->second);
        continue;
      }
    }
    PendingWrite& write = plan.writes.emplace_back();
    write.index = i;
    write.instance.set_id(absl::StrCat("instance-", NextIdNumber()));
    write.instance.set_logical_id(spec.logical_id());
    *write.instance.mutable_tags() = spec.tags();
    *write.instance.mutable_spec() = spec;
    absl::StatusOr<std::string> contents = EncodeInstanceFile(write.instance);
    if (!contents.ok()) {
      SetError(response, i, contents.status());
      plan.writes.pop_back();
      continue;
    }
    write.contents = *std::move(contents);
  }
  return plan;
}

int FilePlugin::WriteDurably(int dir_fd, std::vector<PendingWrite>& writes,
                             v1::BatchProvisionResponse* response) {
  int written = 0;
  for (PendingWrite& write : writes) {
    absl::StatusOr<common::TempFile> temp = WriteTemp(write.contents, /*sync=*/false);
    if (!temp.ok()) {
      SetError(response, write.index, temp.status());
      continue;
    }
    write.temp = *std::move(temp);
    ++written;
  }
  // syncfs writes back unnamed files too (they are dirty inodes of the filesystem like any
  // other): their contents are durable before linkat gives them a name.
  if (written > 0 && ops_.Syncfs(dir_fd) != 0) {
    const absl::Status error = absl::ErrnoToStatus(errno, absl::StrCat("syncfs of ", dir_));
    for (PendingWrite& write : writes) {
      if (!write.temp.has_value()) continue;
      write.temp.reset();
      SetError(response, write.index, error);
    }
    written = 0;
  }
  return written;
}

int FilePlugin::PublishBatch(std::vector<PendingWrite>& writes,
                             v1::BatchProvisionResponse* response, std::vector<int>* again) {
  int published = 0;
  absl::MutexLock io(&io_mu_);
  for (PendingWrite& write : writes) {
    if (!write.temp.has_value()) continue;
    const std::string& key = write.instance.spec().idempotency_key();
    if (std::optional<std::string> existing = index_.InstanceWithKey(key)) {
      // Another call with this key finished meanwhile.
      write.temp.reset();
      SetAnswer(response, write.index, *std::move(existing), false);
      continue;
    }
    absl::Status s = PublishLocked(*write.temp, write.instance, write.contents);
    if (absl::IsAlreadyExists(s)) {
      // An ID taken meanwhile by another process on the directory (the link refuses to
      // overwrite): retried through Provision.
      again->push_back(write.index);
      continue;
    }
    if (!s.ok()) {
      SetError(response, write.index, s);
      continue;
    }
    ++published;
    // One line per batch at INFO (in BatchProvision): thousands of lines per convergence cost
    // CPU and bury the log; each instance at --log 1.
    VLOG(1) << "instance-file: provisioned " << write.instance.id();
    SetAnswer(response, write.index, write.instance.id(), true);
  }
  return published;
}

v1::ProvisionResponse FilePlugin::Existing(std::string id, const std::string& key) {
  VLOG(1) << "instance-file: idempotency key " << key << " is " << id;
  v1::ProvisionResponse response;
  response.set_id(std::move(id));
  response.set_created(false);
  return response;
}

absl::Status FilePlugin::Destroy(const v1::DestroyRequest& request) {
  if (absl::Status s = CheckId(request.id()); !s.ok()) return s;
  std::string retired;
  absl::Status destroyed;
  {
    absl::MutexLock io(&io_mu_);
    destroyed = DestroyLocked(request, &retired);
  }
  if (spares_ != nullptr && !retired.empty()) spares_->Settle({retired});
  if (destroyed.ok()) {
    LOG(INFO) << "instance-file: destroyed " << request.id() << " ("
              << v1::DestroyReason_Name(request.reason()) << ")";
  }
  return destroyed;
}

absl::StatusOr<v1::BatchDestroyResponse> FilePlugin::BatchDestroy(
    const v1::BatchDestroyRequest& request) {
  if (absl::Status s = spi::CheckBatchSize(request.requests_size(), "requests"); !s.ok()) {
    return s;
  }
  v1::BatchDestroyResponse response;
  std::vector<bool> valid(request.requests_size());
  for (int i = 0; i < request.requests_size(); ++i) {
    absl::Status s = CheckId(request.requests(i).id());
    valid[i] = s.ok();
    *response.add_results() = spi::ToItemStatus(s);
  }
  std::vector<std::string> retired;
  size_t destroyed = 0;
  {
    absl::MutexLock io(&io_mu_);
    destroyed = BatchDestroyLocked(request, valid, &response, &retired);
  }
  if (spares_ != nullptr) spares_->Settle(retired);
  // One line per batch (each instance at --log 1).
  if (destroyed > 0) {
    LOG(INFO) << "instance-file: destroyed " << destroyed << " of " << request.requests_size()
              << " instances in one batch";
  }
  return response;
}

size_t FilePlugin::BatchDestroyLocked(const v1::BatchDestroyRequest& request,
                                      const std::vector<bool>& valid,
                                      v1::BatchDestroyResponse* response,
                                      std::vector<std::string>* retired) {
  // 1. Which items name an instance, as DestroyLocked decides it; a repeated ID is NOT_FOUND,
  // as the second of two Destroys in a row would be.
  struct Removal {
    int index;
    std::string id;
    std::string path;
    int error = 0;
    std::string retired;  // its name among the spare files, if it went there
  };
  std::vector<Removal> removals;
  removals.reserve(request.requests_size());
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < request.requests_size(); ++i) {
    if (!valid[i]) continue;
    const std::string& id = request.requests(i).id();
    absl::Status known = seen.insert(id).second ? KnownLocked(id) : NotFound(id);
    if (!known.ok()) {
      *response->mutable_results(i) = spi::ToItemStatus(known);
      continue;
    }
    removals.push_back(Removal{i, id, PathOf(id)});
  }
  // 2. The files, several at once: on ext4 an unlink that frees a data block waits (~170 us
  // here) and a few overlap (3,000 files: 0.50 s one after the other, 0.36 s four at a time);
  // renames into the spare files take the filesystem's rename lock one at a time. Under io_mu_,
  // so that no other change of a name of the directory by the plugin comes between.
  RunConcurrently(removals.size(), [&](size_t k) {
    removals[k].error = RemoveFile(removals[k].path, &removals[k].retired);
  });
  // 3. Then the index and the REMOVED events all together: watchers get them packed in a few
  // messages rather than one per removal.
  std::vector<std::string> removed;
  removed.reserve(removals.size());
  for (Removal& r : removals) {
    if (!r.retired.empty()) retired->push_back(std::move(r.retired));
    if (r.error != 0 && r.error != ENOENT) {
      *response->mutable_results(r.index) =
          spi::ToItemStatus(absl::ErrnoToStatus(r.error, absl::StrCat("removing ", r.path)));
      continue;
    }
    // Its IN_DELETE (IN_MOVED_FROM for a spare file) will tell what we already know.
    if (r.error == 0) echoes_.Unlinked(r.id);
    VLOG(1) << "instance-file: destroyed " << r.id << " ("
            << v1::DestroyReason_Name(request.requests(r.index).reason()) << ")";
    removed.push_back(std::move(r.id));
  }
  for (const std::string& id : removed) {
    ApplyLocked(id, std::nullopt);
    index_.ForgetStamp(id);
  }
  return removed.size();
}

absl::Status FilePlugin::NotFound(const std::string& id) const {
  return absl::NotFoundError(absl::StrCat("no instance ", id, " in ", dir_));
}

absl::Status FilePlugin::KnownLocked(const std::string& id) {
  // The index may not have seen a file created by hand an instant ago: look at the disk (no need
  // when the file is still the one the index was made from).
  if (!index_.Unchanged(id, PathOf(id))) ReloadLocked(id, /*writer_may_be_busy=*/true);
  return index_.Contains(id) ? absl::OkStatus() : NotFound(id);
}

absl::Status FilePlugin::DestroyLocked(const v1::DestroyRequest& request, std::string* retired) {
  if (absl::Status known = KnownLocked(request.id()); !known.ok()) return known;
  const std::string path = PathOf(request.id());
  if (const int error = RemoveFile(path, retired); error == 0) {
    // Its IN_DELETE (IN_MOVED_FROM for a spare) will tell what we already know.
    echoes_.Unlinked(request.id());
  } else if (error != ENOENT) {
    return absl::ErrnoToStatus(error, absl::StrCat("removing ", path));
  }
  ApplyLocked(request.id(), std::nullopt);
  index_.ForgetStamp(request.id());
  VLOG(1) << "instance-file: destroyed " << request.id() << " ("
          << v1::DestroyReason_Name(request.reason()) << ")";
  return absl::OkStatus();
}

absl::StatusOr<v1::DescribeResponse> FilePlugin::Describe(const v1::DescribeRequest& request) {
  v1::DescribeResponse response;
  for (v1::Description& instance : index_.Matching(request.tags(), request.include_properties())) {
    *response.add_instances() = std::move(instance);
  }
  return response;
}

absl::Status FilePlugin::DescribePaged(const v1::DescribeRequest& request,
                                       const common::PageCursor& cursor,
                                       absl::string_view fingerprint, v1::DescribeResponse* out) {
  index_.MatchingPage(request.tags(), request.include_properties(), cursor, fingerprint, out);
  return absl::OkStatus();
}

absl::StatusOr<v1::LabelResponse> FilePlugin::Label(const v1::LabelRequest& request) {
  if (absl::Status s = CheckId(request.id()); !s.ok()) return s;
  if (absl::Status s = CheckTagNames(request.labels(), "labels"); !s.ok()) return s;
  absl::MutexLock io(&io_mu_);
  const std::string path = PathOf(request.id());
  absl::StatusOr<std::string> contents = common::ReadFile(path);
  if (!contents.ok()) {
    if (absl::IsNotFound(contents.status())) {
      return absl::NotFoundError(absl::StrCat("no instance ", request.id(), " in ", dir_));
    }
    return contents.status();
  }
  absl::StatusOr<v1::Description> instance = DecodeInstanceFile(request.id(), *contents);
  if (!instance.ok()) {
    return absl::NotFoundError(
        absl::StrCat("no instance ", request.id(), ": ", path,
                     " is not an instance file: ", instance.status().message()));
  }
  // Labels that change nothing write nothing (and so make no event).
  bool changed = false;
  for (const auto& [key, value] : request.labels()) {
    auto it = instance->tags().find(key);
    if (it != instance->tags().end() && it->second == value) continue;
    (*instance->mutable_tags())[key] = value;
    changed = true;
  }
  if (changed) {
    absl::StatusOr<std::string> updated = EncodeInstanceFile(*instance);
    if (!updated.ok()) return updated.status();
    absl::StatusOr<common::TempFile> temp = writer_.Write(*updated, /*sync=*/true, /*named=*/true);
    if (!temp.ok()) return temp.status();
    if (const int error = temp->RenameOver(path); error != 0) {
      return absl::ErrnoToStatus(error, absl::StrCat("replacing ", path));
    }
    instance = DecodeInstanceFile(request.id(), *updated);
    if (!instance.ok()) return instance.status();
  }
  v1::Description stored = Complete(*std::move(instance));
  ApplyLocked(request.id(), stored);
  // Our rewrite is what the index now holds; a file only read here carries no known stamp.
  std::optional<FileStamp> stamp = changed ? FileStamp::Of(path) : std::nullopt;
  if (stamp.has_value()) {
    index_.SetStamp(request.id(), *stamp);
  } else {
    index_.ForgetStamp(request.id());
  }
  v1::LabelResponse response;
  *response.mutable_instance() = View(stored, /*include_properties=*/false);
  return response;
}

absl::StatusOr<std::unique_ptr<spi::instance::WatchHandle>> FilePlugin::Watch(
    const v1::WatchRequest& request, spi::instance::WatchSink* sink) {
  if (sink == nullptr) return absl::InvalidArgumentError("sink: null");
  // io_mu_ keeps changes out between the initial set and the registration: no event is lost
  // or sent twice (and no write can move what All points to meanwhile).
  absl::MutexLock io(&io_mu_);
  return fanout_.Subscribe(request, sink, index_.All());
}

}  // namespace infrakit::plugins::instance::file
