#include "services/group/file_store.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace infrakit::services::group {
namespace {

std::string MakeTempDir() {
  const char* base = getenv("TEST_TMPDIR");
  std::string tmpl = absl::StrCat(base != nullptr ? base : "/tmp", "/store-XXXXXX");
  char* made = mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr);
  return tmpl;
}

std::set<std::string> ListDir(const std::string& dir) {
  std::set<std::string> names;
  DIR* d = opendir(dir.c_str());
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.insert(n);
  }
  closedir(d);
  return names;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

GroupRecord Record(const std::string& id, int64_t size) {
  GroupRecord r;
  r.mutable_spec()->set_id(id);
  r.mutable_spec()->mutable_instance()->set_plugin("instance-file");
  (*r.mutable_spec()->mutable_instance()->mutable_properties()->mutable_fields())["Note"]
      .set_string_value("v1");
  r.mutable_spec()->mutable_flavor()->set_plugin("flavor-vanilla");
  r.mutable_spec()->mutable_allocation()->set_size(size);
  r.set_sequence_reserved(1024);
  return r;
}

bool Same(const GroupRecord& a, const GroupRecord& b) {
  GroupRecord x = a, y = b;
  x.clear_format_version();
  y.clear_format_version();
  return google::protobuf::util::MessageDifferencer::Equals(x, y);
}

TEST(FileStoreTest, RoundTripOrderedById) {
  std::string dir = MakeTempDir();
  auto store = FileStore::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  GroupRecord b = Record("workers", 5);
  b.mutable_update()->set_active(true);
  b.mutable_update()->set_generation(3);
  *b.mutable_update()->mutable_previous_spec() = Record("workers", 4).spec();
  ASSERT_TRUE((*store)->Put(b).ok());
  ASSERT_TRUE((*store)->Put(Record("cattle", 3)).ok());

  auto loaded = (*store)->LoadAll();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].spec().id(), "cattle");
  EXPECT_TRUE(Same((*loaded)[0], Record("cattle", 3)));
  EXPECT_TRUE(Same((*loaded)[1], b));
  EXPECT_EQ((*loaded)[1].format_version(), 1);
  // Only the records themselves remain, each a snapshot and its journal: no temporaries.
  const std::set<std::string> files = ListDir(dir);
  EXPECT_EQ(files.size(), 4u);
  EXPECT_TRUE(files.count("cattle.json") && files.count("workers.json"));
  for (const std::string& f : files) {
    EXPECT_TRUE(absl::EndsWith(f, ".json") || absl::EndsWith(f, ".journal")) << f;
  }

  // A second store over the same directory (a restarted service) sees the same.
  auto again = FileStore::Open(dir);
  ASSERT_TRUE(again.ok());
  auto reloaded = (*again)->LoadAll();
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ(reloaded->size(), 2u);
}

TEST(FileStoreTest, PutReplacesAndDeleteForgets) {
  auto store = FileStore::Open(MakeTempDir());
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Put(Record("cattle", 3)).ok());
  ASSERT_TRUE((*store)->Put(Record("cattle", 7)).ok());
  auto loaded = (*store)->LoadAll();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].spec().allocation().size(), 7);

  ASSERT_TRUE((*store)->Delete("cattle").ok());
  EXPECT_TRUE((*store)->Delete("cattle").ok());  // absent: fine
  loaded = (*store)->LoadAll();
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->empty());
}

TEST(FileStoreTest, TheJournalKeepsEveryVersionAndCompactsWhenFull) {
  std::string dir = MakeTempDir();
  auto store = FileStore::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  // 40 KiB records: a journal (1 MiB) holds about 25 of them, so 100 versions compact a few
  // times; a restarted service reads the latest each time.
  GroupRecord r = Record("cattle", 1);
  (*r.mutable_spec()->mutable_instance()->mutable_properties()->mutable_fields())["Note"]
      .set_string_value(std::string(40 << 10, 'n'));
  for (int64_t size = 1; size <= 100; ++size) {
    r.mutable_spec()->mutable_allocation()->set_size(size);
    ASSERT_TRUE((*store)->Put(r).ok());
    auto loaded = (*FileStore::Open(dir))->LoadAll();
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    ASSERT_EQ(loaded->size(), 1u);
    EXPECT_EQ((*loaded)[0].spec().allocation().size(), size);
    EXPECT_EQ((*loaded)[0].journal_nonce(), 0u) << "the store's own field never leaves it";
  }
  // One snapshot and the one journal it names: older journals were removed as they were left.
  const std::set<std::string> files = ListDir(dir);
  EXPECT_EQ(files.size(), 2u);
  // A restarted service's first Put starts a journal of its own, and the old one goes.
  auto again = FileStore::Open(dir);
  ASSERT_TRUE((*again)->Put(Record("cattle", 7)).ok());
  EXPECT_EQ(ListDir(dir).size(), 2u);
  EXPECT_NE(ListDir(dir), files);
  EXPECT_EQ((*(*again)->LoadAll())[0].spec().allocation().size(), 7);
  // Delete takes the journal too.
  ASSERT_TRUE((*again)->Delete("cattle").ok());
  EXPECT_TRUE(ListDir(dir).empty());
}

TEST(FileStoreTest, AJournalEntryThatIsNotTheGroupsRecordIsRefusedNamingIt) {
  std::string dir = MakeTempDir();
  auto store = FileStore::Open(dir);
  ASSERT_TRUE((*store)->Put(Record("cattle", 1)).ok());
  // The snapshot names its journal; an entry there holding another group's record (whole, its
  // checksum right) is not something a crash can leave.
  std::string name;
  for (const std::string& f : ListDir(dir)) {
    if (absl::EndsWith(f, ".journal")) name = f;
  }
  ASSERT_FALSE(name.empty());
  const std::string hex = name.substr(strlen("cattle."), 16);
  uint64_t nonce = 0;
  ASSERT_TRUE(absl::SimpleHexAtoi(hex, &nonce));
  const std::string path = dir + "/" + name;
  ASSERT_EQ(unlink(path.c_str()), 0);
  auto journal = RecordJournal::Create(path, nonce, 64 << 10, &common::RealFileOps());
  ASSERT_TRUE(journal.ok());
  ASSERT_TRUE((*journal)->Append(Record("workers", 2).SerializeAsString()).ok());
  auto loaded = (*FileStore::Open(dir))->LoadAll();
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss) << loaded.status();
  EXPECT_TRUE(absl::StrContains(loaded.status().message(), path)) << loaded.status();
  // Bytes that are not an entry at all (a torn write) are not read: the snapshot stands.
  journal->reset();
  ASSERT_EQ(unlink(path.c_str()), 0);
  WriteFile(path, std::string(4096, 'x'));
  loaded = (*FileStore::Open(dir))->LoadAll();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)[0].spec().allocation().size(), 1);
}

TEST(FileStoreTest, CorruptFileIsRefusedNamingIt) {
  std::string dir = MakeTempDir();
  auto store = FileStore::Open(dir);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Put(Record("cattle", 3)).ok());
  WriteFile(dir + "/broken.json", "{\"spec\": {\"id\": \"broken\", ");
  auto loaded = (*store)->LoadAll();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(loaded.status().message(), dir + "/broken.json"))
      << loaded.status();
}

TEST(FileStoreTest, EmptyFileIsCorruptNotEmpty) {
  std::string dir = MakeTempDir();
  auto store = FileStore::Open(dir);
  ASSERT_TRUE(store.ok());
  WriteFile(dir + "/cattle.json", "");
  auto loaded = (*store)->LoadAll();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(loaded.status().message(), dir + "/cattle.json"));
  EXPECT_TRUE(absl::StrContains(loaded.status().message(), "empty"));
}

TEST(FileStoreTest, UnknownFieldOrWrongIdIsCorrupt) {
  std::string dir = MakeTempDir();
  auto store = FileStore::Open(dir);
  ASSERT_TRUE(store.ok());
  WriteFile(dir + "/cattle.json", "{\"spec\": {\"id\": \"other\"}}");
  auto loaded = (*store)->LoadAll();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(loaded.status().message(), "other")) << loaded.status();

  WriteFile(dir + "/cattle.json", "{\"spec\": {\"id\": \"cattle\"}, \"bogus\": 1}");
  loaded = (*store)->LoadAll();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
}

TEST(FileStoreTest, TruncatedRecordIsRefusedSayingWhatToDo) {
  std::string dir = MakeTempDir();
  auto store = FileStore::Open(dir);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Put(Record("cattle", 3)).ok());
  std::string text;
  {
    std::ifstream in(dir + "/cattle.json");
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  WriteFile(dir + "/cattle.json", text.substr(0, text.size() / 2));
  auto loaded = (*store)->LoadAll();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(loaded.status().message(), dir + "/cattle.json"));
  EXPECT_TRUE(absl::StrContains(loaded.status().message(), "move it out of " + dir))
      << loaded.status();
}

TEST(FileStoreTest, RecordWithoutFormatVersionIsRead) {
  std::string dir = MakeTempDir();
  auto store = FileStore::Open(dir);
  ASSERT_TRUE(store.ok());
  WriteFile(dir + "/cattle.json", "{\"spec\": {\"id\": \"cattle\"}, \"sequence_reserved\": \"7\"}");
  auto loaded = (*store)->LoadAll();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].sequence_reserved(), 7);
}

TEST(FileStoreTest, NewerFormatIsRefused) {
  std::string dir = MakeTempDir();
  auto store = FileStore::Open(dir);
  ASSERT_TRUE(store.ok());
  WriteFile(dir + "/cattle.json", "{\"format_version\": 2, \"spec\": {\"id\": \"cattle\"}}");
  auto loaded = (*store)->LoadAll();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(loaded.status().message(), dir + "/cattle.json"));
  EXPECT_TRUE(absl::StrContains(loaded.status().message(), "run the newer infrakit-group"))
      << loaded.status();
}

TEST(FileStoreTest, UnreadableRecordIsRefusedNamingIt) {
  std::string dir = MakeTempDir();
  auto store = FileStore::Open(dir);
  ASSERT_TRUE(store.ok());
  ASSERT_EQ(mkdir((dir + "/odd.json").c_str(), 0700), 0);
  auto loaded = (*store)->LoadAll();
  ASSERT_FALSE(loaded.ok());
  EXPECT_TRUE(absl::StrContains(loaded.status().message(), dir + "/odd.json")) << loaded.status();
}

TEST(FileStoreTest, LeftoverTemporariesAreIgnored) {
  std::string dir = MakeTempDir();
  auto store = FileStore::Open(dir);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Put(Record("cattle", 3)).ok());
  // What a crash between create and rename leaves behind: half a record in a hidden file.
  WriteFile(dir + "/.cattle.json.tmp-123-0", "{\"spec\": {\"id\": \"cat");
  WriteFile(dir + "/.pets.json.tmp-124-7", "");
  WriteFile(dir + "/README", "not a record");
  auto loaded = (*store)->LoadAll();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].spec().allocation().size(), 3);
}

TEST(FileStoreTest, BadIdsAreRefused) {
  auto store = FileStore::Open(MakeTempDir());
  ASSERT_TRUE(store.ok());
  for (const std::string id : {"", ".hidden", "../escape", "a/b"}) {
    absl::Status st = (*store)->Put(Record(id, 1));
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << id;
    EXPECT_TRUE(absl::StrContains(st.message(), "spec.id")) << st;
  }
}

TEST(FileStoreTest, OpenCreatesPrivateDirectoriesAndRefusesFiles) {
  std::string base = MakeTempDir();
  std::string dir = base + "/a/b/state";
  auto store = FileStore::Open(dir + "/");
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->dir(), dir);
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700);

  WriteFile(base + "/file", "x");
  auto bad = FileStore::Open(base + "/file");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(bad.status().message(), base + "/file"));

  EXPECT_EQ(FileStore::Open("").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace infrakit::services::group
