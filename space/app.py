"The mask_recog demo as a Hugging Face Space: step 8a's Gradio app on the released model (see README.md)"
from mask_recog.demo import make_demo

demo = make_demo()  # the released model; the face detectors are downloaded once, pinned and checked

if __name__ == '__main__': demo.launch()
