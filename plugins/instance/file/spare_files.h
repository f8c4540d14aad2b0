// instance-file's spare files: the emptied files of destroyed instances, kept in `<dir>/.spare`
// so that new instances are written into them instead of into new files.
//
// Why: a file moved out of the directory and back keeps its inode, so destroying an instance
// frees none and creating one allocates none. On ext4 without a journal that is most of a new
// file's cost after a group shrank or rolled: the kernel's inode allocator does not hand out
// an inode freed in the last 30 s (longer while its inode table block is unwritten) and looks
// at each such inode of the block group, one after the other, for every file it creates. After
// N instances were destroyed, each new file costs O(N) there (docs/benchmarks.md has the
// measurements). Elsewhere reuse costs about what a new file does.
//
// What keeps it safe:
// - Retire moves the file (rename: the instance's name is gone in one step, as with unlink)
//   into the pool under a name no other process uses (`<unix nanos>-<pid>-<random>`). A file
//   that has other names (hard links) is not kept: emptying it would empty them.
// - Settle makes those removals durable (an fsync of the instance directory) before it
//   empties the files and lets them be claimed: on a filesystem that writes metadata in no
//   fixed order (ext4 without a journal) a crash could otherwise bring a destroyed instance's
//   name back on a file emptied, or rewritten as another instance.
// - Claim renames a spare to a dot name of this process (`.claim-<pid>-<random>-<n>`) before
//   anyone writes into it: of two processes serving one directory, only one rename of a spare
//   succeeds, so two writers never share a file. The caller writes and syncs the claimed file,
//   links it under the instance's name (never overwriting) and removes the claim name: an
//   instance file is complete before it has its name, as a new file is.
// - A claim left behind by a process that died (a dot name, never an instance) is removed by a
//   later Open once it is an hour old (its ctime: the claim's rename).
//
// Threading: thread-safe. Calls do file I/O, never under the pool's lock; the calls that change
// the disk go through the FileOps (listing and stat do not).
#ifndef INFRAKIT_PLUGINS_INSTANCE_FILE_SPARE_FILES_H_
#define INFRAKIT_PLUGINS_INSTANCE_FILE_SPARE_FILES_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/file_ops.h"

namespace infrakit::plugins::instance::file {

class SpareFiles {
 public:
  // The pool's directory, inside the instance directory (a rename never crosses filesystems).
  static constexpr absl::string_view kDirName = ".spare";

  // Opens `<dir>/.spare` (creating it when missing) and takes the spare files in it, up to
  // `capacity` (the rest stay there unused); removes the claims in it older than
  // `stale_claim_age` (no write takes that long: their process died). `ops` is not owned and
  // must outlive the pool.
  // Errors: the errno's code when the pool's directory cannot be created or listed, naming it
  // (FAILED_PRECONDITION when `.spare` exists and is not a directory).
  static absl::StatusOr<std::unique_ptr<SpareFiles>> Open(
      const std::string& dir, size_t capacity, common::FileOps* ops,
      absl::Duration stale_claim_age = absl::Hours(1));

  SpareFiles(const SpareFiles&) = delete;
  SpareFiles& operator=(const SpareFiles&) = delete;

  // Removes the file `path` (a file of the instance directory) as unlink(2) would: 0, or the
  // errno of the removal (ENOENT when there is no such file). A plain file with no other name
  // is moved into the pool, its new name in *retired; it is claimable only once Settle made its
  // removal durable. Unlinked instead (*retired empty) when the pool is full, its directory is
  // gone (it is created again for the next retire) or the file is not a plain file with one
  // name. One rename or unlink: fit to run under the caller's lock.
  int Retire(const std::string& path, std::string* retired);

  // Makes the removals of `retired` (names Retire gave) durable, with one fsync of the
  // instance directory, then empties each and makes it claimable. Should the fsync fail, they
  // are unlinked from the pool: a retired name that a crash could bring back must not come back
  // emptied or as another instance. Blocks on the disk: call it without holding a lock.
  void Settle(const std::vector<std::string>& retired);

  // Claims a spare file for the caller: its path (a dot name in the pool no one else will take
  // or write), or nullopt when the pool has none. The caller writes it
  // (common::TempFileWriter::WriteOver) and links it under its final name, or removes it.
  std::optional<std::string> Claim();

  // How many spare files the pool holds now.
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

  // `<dir>/.spare`.
  const std::string& dir() const { return dir_; }

 private:
  SpareFiles(std::string instance_dir, size_t capacity, common::FileOps* ops);

  // A pool name no other process uses and this one has not used: `<unix nanos>-<token>`, the
  // nanos strictly increasing within this process.
  std::string NextName() ABSL_LOCKS_EXCLUDED(mu_);

  const std::string instance_dir_;
  const std::string dir_;  // instance_dir_/.spare
  const size_t capacity_;
  common::FileOps* const ops_;
  const std::string token_;  // `<pid>-<8 random hex digits>`

  mutable absl::Mutex mu_;
  // The settled spare files' names, the most recently settled last (claimed first).
  std::vector<std::string> names_ ABSL_GUARDED_BY(mu_);
  // Retired files not yet settled: counted against the capacity from before their rename.
  size_t retiring_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t last_nanos_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t claims_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace infrakit::plugins::instance::file

#endif  // INFRAKIT_PLUGINS_INSTANCE_FILE_SPARE_FILES_H_
