// A backend without a framework, for the addon kit's own tests (test/native/addon_kit.test.ts):
// each requested output is the input of the same name, handed back as is.
#include <stdexcept>

#include "common/addon_kit.h"

namespace {

class EchoModel : public duo::LoadedModel {
 public:
  explicit EchoModel(std::string description) : description_(std::move(description)) {}

  std::string Describe() const override { return description_; }

  duo::Status Run(const std::vector<duo::NamedTensor>& inputs, const std::vector<std::string>& output_names,
                  std::vector<duo::NamedTensor>* outputs) override {
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
};

// Describe() answers the load options, key=value lines, so the tests can see what arrived.
class EchoBackend : public duo::Backend {
 public:
  duo::Status Load(const std::string& path, const duo::LoadOptions& options,
                   std::shared_ptr<duo::LoadedModel>* out) override {
    if (path == "missing") return duo::Status::Error(duo::Code::kNotFound, "no model at " + path);
    std::string description = "path=" + path + "\n";
    for (const auto& [key, value] : options) description += key + "=" + value + "\n";
    *out = std::make_shared<EchoModel>(std::move(description));
    return duo::Status::Ok();
  }
};

}  // namespace

DUOSERVE_BACKEND_ADDON(EchoBackend)
