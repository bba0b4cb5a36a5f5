// A backend without a framework, for the addon kit's own tests (test/native/addon_kit.test.ts):
// each requested output is the input of the same name, handed back as is.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "common/addon_kit.h"

namespace {

// With the load option run_ms, each run takes that long, and Describe() adds a line
// "runs=<runs so far>": the tests fill the worker pool with such runs and count what ran.
class EchoModel : public duo::LoadedModel {
 public:
  EchoModel(std::string description, int run_ms) : description_(std::move(description)), run_ms_(run_ms) {}

  std::string Describe() const override {
    if (run_ms_ == 0) return description_;
    return description_ + "runs=" + std::to_string(runs_.load()) + "\n";
  }

  duo::Status Run(const std::vector<duo::NamedTensor>& inputs, const std::vector<std::string>& output_names,
                  std::vector<duo::NamedTensor>* outputs) override {
    ++runs_;
    std::this_thread::sleep_for(std::chrono::milliseconds(run_ms_));
    for (const std::string& name : output_names) {
      // Lets the tests check that an exception escaping a backend still becomes a rejection.
      if (name == "throw") throw std::runtime_error("echo backend asked to throw");
      const duo::NamedTensor* found = nullptr;
      for (const duo::NamedTensor& input : inputs) {
        if (input.name == name) found = &input;
      }
      if (found == nullptr) return duo::Status::Error(duo::Code::kNotFound, "no input named " + name);
      outputs->push_back({name, found->tensor});
    }
    return duo::Status::Ok();
  }

 private:
  std::string description_;
  int run_ms_;
  std::atomic<int> runs_{0};
};

// Describe() answers the load options, key=value lines, so the tests can see what arrived.
class EchoBackend : public duo::Backend {
 public:
  duo::Status Load(const std::string& path, const duo::LoadOptions& options,
                   std::shared_ptr<duo::LoadedModel>* out) override {
    if (path == "missing") return duo::Status::Error(duo::Code::kNotFound, "no model at " + path);
    std::string description = "path=" + path + "\n";
    for (const auto& [key, value] : options) description += key + "=" + value + "\n";
    auto run_ms = options.find("run_ms");
    *out = std::make_shared<EchoModel>(std::move(description), run_ms == options.end() ? 0 : std::stoi(run_ms->second));
    return duo::Status::Ok();
  }
};

}  // namespace

DUOSERVE_BACKEND_ADDON(EchoBackend)
